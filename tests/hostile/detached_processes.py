# leave processes behind that outlive the kernel
import subprocess

for _ in range(3):
    subprocess.Popen(["sleep", "100000"], start_new_session=True)
