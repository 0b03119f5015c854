# take all the memory there is
blob = bytearray(3 * 1024**3)
