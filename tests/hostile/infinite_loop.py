# never finish
# alone
while True:
    pass
