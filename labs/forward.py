"""TCP port forwarding inside a kernel that gets its lab through the control channel.

A broker advertises `pulsar://127.0.0.1:<port>` (see labs/cluster.py). On the lab's host that
address reaches the broker; inside a sandbox it would reach the sandbox itself. So a sandboxed
kernel listens on 127.0.0.1:<port> and forwards each connection to the cluster on the lab's network
(`<cluster>:<port>`), and any address a broker hands out works there too. A connection whose target
does not answer is closed at once, as the broker's own port would refuse it. Two kernels of one
learner's server (two notebooks, or a restarted kernel beside the old one) may forward the same ports
to the same lab: the port is shared (SO_REUSEPORT), and either kernel's forwarder serves it.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass

from labs.errors import UsageError
from labs.i18n import _


@dataclass(frozen=True)
class Forward:
    """Connections to 127.0.0.1:`port` go to `target_host`:`target_port`."""

    port: int
    target_host: str
    target_port: int


class Forwarder:
    """Forwards TCP ports on 127.0.0.1 to targets, each connection in two daemon threads."""

    def __init__(self, forwards: tuple[Forward, ...]) -> None:
        self.forwards = forwards
        self._servers: list[socket.socket] = []
        self._stopped = threading.Event()

    def start(self) -> Forwarder:
        for forward in self.forwards:
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # several kernels of one workshop server forward the same lab's ports: each takes a share
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            try:
                server.bind(("127.0.0.1", forward.port))
            except OSError as exc:
                server.close()
                raise UsageError(_("Cannot forward 127.0.0.1:{port} to {target}: {error}; expected the port to be "
                                   "free.").format(port=forward.port, target=f"{forward.target_host}:"
                                                   f"{forward.target_port}", error=exc.strerror or exc)) from exc
            server.listen(64)
            self._servers.append(server)
            threading.Thread(target=self._accept, args=(server, forward), daemon=True,
                             name=f"geolab-forward-{forward.port}").start()
        return self

    def _accept(self, server: socket.socket, forward: Forward) -> None:
        while not self._stopped.is_set():
            try:
                client, _address = server.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client, forward), daemon=True).start()

    def _connect(self, client: socket.socket, forward: Forward) -> None:
        try:
            upstream = socket.create_connection((forward.target_host, forward.target_port), timeout=5)
        except OSError:
            client.close()  # as a dead broker's port would refuse it
            return
        upstream.settimeout(None)
        for source, target in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pipe, args=(source, target), daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        for server in self._servers:
            server.close()
        self._servers.clear()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()
