"""Raw requests on a control channel's Unix socket, for the tests of its bounds (unit and workshop)."""

from __future__ import annotations

import socket


def raw_request(path: str, head: bytes, body: bytes = b"", stream: int = 0, timeout_s: float = 20.0
                ) -> tuple[bytes, int]:
    """Send `head` (and `body`, then up to `stream` more bytes) on a raw connection to the socket at
    `path`; returns what the server answered and how many bytes of the stream it took before it stopped
    reading (closing the connection)."""
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(path)
    sock.settimeout(timeout_s)
    sent = 0
    try:
        sock.sendall(head + body)
        chunk = b"[" * (1 << 16)
        while sent < stream:
            sock.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass  # the server closed the connection: it reads no more
    answer = b""
    try:
        while data := sock.recv(1 << 16):
            answer += data
    except OSError:
        pass
    sock.close()
    return answer, sent


def head(token: str, *lines: str, method: str = "POST", path: str = "/v1/calls/check") -> bytes:
    """A request's line and headers, with the kernel's token and `lines` as further headers."""
    return (f"{method} {path} HTTP/1.0\r\nAuthorization: Bearer {token}\r\n" + "".join(
        f"{line}\r\n" for line in lines) + "\r\n").encode()
