from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import docker
from labs.cluster import allocate_ports, lab_containers
from labs.engine import docker_client
from labs.errors import EngineError, PortInUseError
from labs.lab import check_base_port


def test_free_ports_are_distinct() -> None:
    ports = allocate_ports(["beijing", "shanghai", "guangzhou"], None)
    numbers = [p for hp in ports.values() for p in (hp.broker, hp.http)]
    assert len(set(numbers)) == 6


def test_taken_base_port_is_reported_with_the_cluster() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with pytest.raises(PortInUseError) as info:
            allocate_ports(["beijing", "shanghai"], taken)
    assert f"127.0.0.1:{taken}" in str(info.value)
    assert "'beijing'" in str(info.value)


def test_base_port_out_of_range() -> None:
    with pytest.raises(PortInUseError, match="outside"):
        check_base_port(80, 1)
    with pytest.raises(PortInUseError, match="outside"):
        check_base_port(65535, 2)
    check_base_port(65532, 2)  # room for exactly four ports


def test_base_port_that_pulsar_uses_inside_its_container() -> None:
    with pytest.raises(PortInUseError, match="inside its container"):
        allocate_ports(["beijing", "shanghai"], 8078)  # shanghai's broker port would be 8080


def test_unreachable_engine_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(EngineError) as info:
        docker_client(timeout_s=5)
    assert "unix:///nonexistent/docker.sock" in str(info.value)
    assert "geolab doctor" in str(info.value)


def test_free_broker_ports_avoid_the_containers_own_range(monkeypatch: pytest.MonkeyPatch) -> None:
    import labs.cluster

    low, high = 32768, 50000  # most of Linux's default range: free ports below must be passed over
    monkeypatch.setattr(labs.cluster, "CONTAINER_EPHEMERAL", (low, high))
    for _ in range(10):
        for ports in allocate_ports(["beijing", "shanghai", "guangzhou"], None).values():
            assert not low <= ports.broker <= high


def test_base_port_in_the_containers_own_range() -> None:
    with pytest.raises(PortInUseError, match="its own connections"):
        allocate_ports(["beijing"], 62000)


def test_a_network_docker_has_no_address_for_says_how_to_give_it_more() -> None:
    from docker.errors import APIError

    from labs.cluster import create_network
    from labs.errors import ProvisioningError

    class Networks:
        def create(self, *_args: object, **_kwargs: object) -> None:
            raise APIError("400 Client Error", explanation="could not find an available, non-overlapping IPv4 "
                                                           "address pool among the defaults to assign to the network")

    class Client:
        networks = Networks()

    with pytest.raises(ProvisioningError, match="default-address-pools"):
        create_network(Client(), "geolab-x-cluster-beijing", "x")  # type: ignore[arg-type]


class VanishingEngine(BaseHTTPRequestHandler):
    """A Docker API that lists two lab containers and has removed one of them by the time it is inspected
    (a failed start's cleanup still running in the engine)."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        listed = [{"Id": "kept", "Names": ["/kept"], "Labels": {"org.geolab.lab": "demo"}},
                  {"Id": "gone", "Names": ["/gone"], "Labels": {"org.geolab.lab": "demo"}}]
        if self.path.split("?")[0].endswith("/containers/json"):
            self.reply(200, listed)
        elif "/containers/kept/json" in self.path:
            self.reply(200, {"Id": "kept", "Name": "/kept", "Config": {"Labels": {"org.geolab.lab": "demo"}}})
        else:
            self.reply(404, {"message": "No such container: gone"})

    def reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_a_container_removed_while_docker_lists_the_lab_is_not_an_error() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), VanishingEngine)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = docker.DockerClient(base_url=f"tcp://127.0.0.1:{server.server_address[1]}", version="1.41")
        assert [c.id for c in lab_containers(client, "demo")] == ["kept"]
        assert lab_containers(client, "demo")[0].labels == {"org.geolab.lab": "demo"}
    finally:
        server.shutdown()
        server.server_close()
