# leave an IPython startup file that breaks every later kernel
import os

startup = os.path.expanduser("~/.ipython/profile_default/startup")
os.makedirs(startup, exist_ok=True)
with open(startup + "/00-break.py", "w") as handle:
    handle.write("raise SystemExit(1)")
