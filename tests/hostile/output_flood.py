# send the grader 30 MB of output
# alone
for _ in range(300):
    print("x" * 100_000)
