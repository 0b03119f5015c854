# take all the memory there is
# alone
blob = bytearray(3 * 1024**3)
