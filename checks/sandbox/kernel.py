"""The sandbox container's entry point: an IPython kernel on the connection file the grader wrote.

Runs as UID 10001 on a read-only root file system; HOME and IPython's folders live on the /tmp tmpfs.
The kernel's sockets (ipc transport) and the control channel's socket are in /run/geolab, the one
folder the grader shares with this container.
"""

from __future__ import annotations

import os
import sys

RUN = "/run/geolab"


def main() -> None:
    home = os.environ.get("HOME", "/tmp/home")
    for folder in (home, os.environ.get("IPYTHONDIR", f"{home}/.ipython")):
        os.makedirs(folder, exist_ok=True)
    os.umask(0o000)  # the grader, another user, connects to the sockets the kernel creates
    from ipykernel.kernelapp import launch_new_instance

    sys.argv = [sys.argv[0], "-f", f"{RUN}/kernel.json", "--HistoryManager.hist_file=:memory:",
                "--IPKernelApp.parent_handle=0"]
    launch_new_instance()


if __name__ == "__main__":
    main()
