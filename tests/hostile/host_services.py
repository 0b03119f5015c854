# reach a service the grading host offers on all its interfaces, through the sandbox network's gateway
import socket

address = socket.gethostbyname(socket.gethostname())
gateway = address.rsplit(".", 1)[0] + ".1"
try:
    socket.create_connection((gateway, 47999), timeout=3).close()
    print("reached the host at", gateway)
except OSError as exc:
    print("host closed", gateway, exc)
