# a request whose Content-Length is negative, followed by 3 GiB: the grader reads until the connection
# closes, unless its reads are bounded
import os
import socket

sock = socket.socket(socket.AF_UNIX)
sock.connect(os.environ["GEOLAB_CONTROL"])
sock.sendall(b"POST /v1/calls/check HTTP/1.0\r\nAuthorization: Bearer " + os.environ["GEOLAB_CONTROL_TOKEN"].encode()
             + b"\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n")
chunk = b"[" * (1 << 20)
sent = 0
sock.settimeout(20)
try:
    while sent < 3 * (1 << 30):
        sock.sendall(chunk)
        sent += len(chunk)
except OSError as exc:
    print("the grader stopped reading after", sent >> 20, "MiB:", type(exc).__name__)
sock.close()
