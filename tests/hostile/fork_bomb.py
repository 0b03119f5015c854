# fork until something breaks
# alone
import os
import time

for _ in range(1000):
    try:
        if os.fork() == 0:
            time.sleep(600)
    except OSError:
        break
