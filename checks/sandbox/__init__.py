"""The grading sandbox: each submission's kernel in its own locked-down container (the kernel image,
the container, the kernel provisioner) and the narrow control channel through which it gets its lab."""
