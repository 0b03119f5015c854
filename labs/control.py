"""The control channel: a kernel without Docker gets its lab from a trusted side that owns Docker.

Transport: HTTP over a Unix socket that only the kernel's container can see, plus a bearer token.
The verbs are a closed set, the ones a notebook needs for its own lab (no Docker passthrough):

    POST   /v1/labs                                  start (or reattach) {topology, name, configure, probe}
    GET    /v1/labs/{lab}                            the lab's record
    DELETE /v1/labs/{lab}                            remove it (the trusted side may keep it)
    GET    /v1/labs/{lab}/clusters/{cluster}         its state
    POST   /v1/labs/{lab}/clusters/{cluster}/{kill|stop|start}
    POST   /v1/labs/{lab}/links/{a}/{b}/{cut|heal}
    POST   /v1/calls/{verb}                          verbs a trusted side adds (the grader's records)

Every answer is a stream of JSON lines: progress lines, then one result or one error. Errors keep
their `LabError` class across the channel. `ControlBackend` is the kernel's side (a `Backend` for
`Lab`); `ControlServer` serves a `ControlHandler` (the trusted side's policy and Docker backend).

Language: every request says the kernel's language (``Accept-Language: en`` or ``zh``, read from
`labs.i18n.language()` when the request is made), and the trusted side handles it inside
`labs.i18n.using(...)` of that language, so that its errors, progress lines and check outcomes come
back in the kernel's language (one lab server serves learners of both at once). Anything but ``en``
or ``zh``, or no header, is English.
"""

from __future__ import annotations

import hmac
import io
import json
import os
import re
import socket
import socketserver
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from email.message import Message
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Protocol

import httpx

from labs import errors
from labs.backend import ClusterEndpoint, LabRecord
from labs.errors import LabError, UsageError
from labs.flows import DrillReport
from labs.forward import Forward, Forwarder
from labs.i18n import LANGUAGES, N_, _, language, using
from labs.topology import Topology

Progress = Callable[[str], None]
JSON = Any
MAX_BODY = 64 * 1024
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}$")
LANGUAGE_HEADER = "Accept-Language"
ACTIONS = frozenset({"kill", "stop", "start"})
LINK_ACTIONS = frozenset({"cut", "heal"})
#: Error classes that cross the channel by name; anything else arrives as LabError.
KNOWN_ERRORS: dict[str, type[LabError]] = {
    cls.__name__: cls for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, LabError) and cls is not errors.AdminError
    and not issubclass(cls, errors.AdminError)
}


# ------------------------------------------------------------------------------ wire format


def record_to_wire(record: LabRecord, forwards: tuple[Forward, ...] = ()) -> dict[str, JSON]:
    return {
        "name": record.name,
        "topology": record.topology.to_json(),
        "endpoints": {c: {"service_url": e.service_url, "admin_url": e.admin_url, "container": e.container,
                          "token": e.token} for c, e in record.endpoints.items()},
        "reattached": record.reattached,
        "configured": record.configured,
        "forwards": [[f.port, f.target_host, f.target_port] for f in forwards],
    }


def record_from_wire(data: Mapping[str, JSON]) -> tuple[LabRecord, tuple[Forward, ...]]:
    try:
        topology = Topology.from_json(data["topology"])
        endpoints = {c: ClusterEndpoint(c, str(e["service_url"]), str(e["admin_url"]), str(e["container"]),
                                        str(e.get("token", ""))) for c, e in data["endpoints"].items()}
        forwards = tuple(Forward(int(p), str(h), int(t)) for p, h, t in data.get("forwards", []))
        record = LabRecord(str(data["name"]), topology, endpoints, bool(data["reattached"]), bool(data["configured"]))
    except (LookupError, TypeError, ValueError) as exc:
        raise LabError(_("The control channel sent a lab record this kernel cannot read ({error}); expected the "
                         "record format of this geolab version. Ask your instructor to check the grader.").format(
            error=exc)) from exc
    return record, forwards


def error_from_wire(data: Mapping[str, JSON]) -> LabError:
    """The error the trusted side sent, of its own class (its message as sent: already in this kernel's
    language), whatever that class's constructor takes."""
    kind = KNOWN_ERRORS.get(str(data.get("type")), LabError)
    message = str(data["message"]) if "message" in data else _("The control channel reported an error without a "
                                                                "message; expected one. Tell your instructor.")
    error = kind.__new__(kind)
    LabError.__init__(error, message)  # a class whose constructor takes more (WaitTimeout) keeps its defaults
    return error


def wire_language(value: str | None) -> str:
    """The language a request's Accept-Language header names: ``en`` or ``zh``; English for anything else
    (no header, another language, a malformed value: it must never break the call)."""
    try:
        first = (value or "").split(",")[0].split(";")[0].strip().lower()
    except (AttributeError, TypeError):
        return "en"
    return first if first in LANGUAGES else "en"


# ------------------------------------------------------------------------------ the kernel's side


class ChannelClient:
    """Asks a trusted side over its Unix socket: one JSON-lines answer per request (progress lines,
    then a result or an error that keeps its `LabError` class)."""

    def __init__(self, socket_path: str, token: str, timeout_s: float = 900.0, serves: str = "") -> None:
        """`serves`: who provides the socket, as code (``"`geolab serve`"``); empty: the grader or lab server."""
        if not Path(socket_path).exists():
            if serves:
                raise LabError(_("No control channel at {path}; expected the socket {serves} provides. Unset "
                                 "GEOLAB_CONTROL to use Docker on this machine.").format(
                    path=socket_path, serves=serves))
            raise LabError(_("No control channel at {path}; expected the socket the grader or lab server provides. "
                             "Unset GEOLAB_CONTROL to use Docker on this machine.").format(path=socket_path))
        self.socket_path = socket_path
        self.serves = serves
        self._http = httpx.Client(transport=httpx.HTTPTransport(uds=socket_path), base_url="http://geolab",
                                  headers={"Authorization": f"Bearer {token}"}, timeout=timeout_s)

    def _call(self, method: str, path: str, body: JSON = None, progress: Progress | None = None) -> JSON:
        try:
            with self._http.stream(method, path, json=body, headers={LANGUAGE_HEADER: language()}) as response:
                result: JSON = None
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    message = json.loads(line)
                    if "progress" in message and progress is not None:
                        progress(str(message["progress"]))
                    elif "error" in message:
                        raise error_from_wire(message["error"])
                    elif "result" in message:
                        result = message["result"]
                return result
        except LabError:
            raise
        except httpx.HTTPError as exc:
            if self.serves:
                said = _("The control channel at {path} did not answer {method} {call} ({error}); expected {serves} "
                         "to. Run the cell again; if it keeps failing, tell your instructor.")
            else:
                said = _("The control channel at {path} did not answer {method} {call} ({error}); expected the grader "
                         "or lab server to. Run the cell again; if it keeps failing, tell your instructor.")
            raise errors.EngineError(said.format(path=self.socket_path, method=method, call=path,
                                                 error=type(exc).__name__, serves=self.serves)) from exc
        except ValueError as exc:
            raise LabError(_("The control channel answered {method} {call} with something that is not JSON lines; "
                             "expected this geolab version's protocol.").format(method=method, call=path)) from exc

    def close(self) -> None:
        self._http.close()


class ControlBackend(ChannelClient):
    """A `Backend` that asks the trusted side for everything; used when GEOLAB_CONTROL names a socket."""

    def __init__(self, socket_path: str, token: str, timeout_s: float = 900.0) -> None:
        super().__init__(socket_path, token, timeout_s)
        self._forwarders: dict[int, Forwarder] = {}

    def _record(self, data: JSON) -> LabRecord:
        record, forwards = record_from_wire(data)
        for forward in forwards:
            if forward.port not in self._forwarders:
                self._forwarders[forward.port] = Forwarder((forward,)).start()
        return record

    def start(self, topology: Topology, name: str, base_port: int | None, configure: bool, probe: bool,
              progress: Progress) -> LabRecord:
        body = {"topology": topology.to_json(), "name": name, "base_port": base_port, "configure": configure,
                "probe": probe}
        return self._record(self._call("POST", "/v1/labs", body, progress))

    def attach(self, name: str) -> LabRecord:
        return self._record(self._call("GET", f"/v1/labs/{name}"))

    def remove(self, record: LabRecord) -> tuple[int, int]:
        result = self._call("DELETE", f"/v1/labs/{record.name}") or {}
        return int(result.get("containers", 0)), int(result.get("networks", 0))

    def cluster_state(self, record: LabRecord, cluster: str) -> str:
        return str((self._call("GET", f"/v1/labs/{record.name}/clusters/{cluster}") or {}).get("state", "missing"))

    def kill_cluster(self, record: LabRecord, cluster: str) -> None:
        self._call("POST", f"/v1/labs/{record.name}/clusters/{cluster}/kill")

    def stop_cluster(self, record: LabRecord, cluster: str) -> None:
        self._call("POST", f"/v1/labs/{record.name}/clusters/{cluster}/stop")

    def start_cluster(self, record: LabRecord, cluster: str, progress: Progress) -> float:
        result = self._call("POST", f"/v1/labs/{record.name}/clusters/{cluster}/start", progress=progress) or {}
        return float(result.get("seconds", 0.0))

    def cut_link(self, record: LabRecord, a: str, b: str) -> None:
        self._call("POST", f"/v1/labs/{record.name}/links/{a}/{b}/cut")

    def heal_link(self, record: LabRecord, a: str, b: str) -> None:
        self._call("POST", f"/v1/labs/{record.name}/links/{a}/{b}/heal")

    def exec(self, record: LabRecord, cluster: str, command: tuple[str, ...]) -> tuple[int, str]:
        raise UsageError(_("lab.exec({cluster!r}, ...) runs commands inside a cluster's container, which only a lab "
                           "on your own machine allows; expected a lab started with Docker here. Use lab.admin(...) "
                           "for the same through Pulsar's admin API.").format(cluster=cluster))

    def call(self, verb: str, body: JSON = None) -> JSON:
        """A verb the trusted side adds (the grader's records); see `ControlHandler.call`."""
        return self._call("POST", f"/v1/calls/{verb}", body)

    def close(self) -> None:
        for forwarder in self._forwarders.values():
            forwarder.stop()
        self._forwarders.clear()
        super().close()


class RemoteDrill:
    """`lab.failover_drill(...)` in a graded run: the trusted side runs the drill on its own lab (its
    producer, consumer and failover client), step by step as the notebook asks, and keeps the report
    the checks grade; this kernel only sees the answers. Same methods as `labs.flows.FailoverDrill`."""

    def __init__(self, backend: ControlBackend, topic: str, subscription: str, check_interval_ms: int) -> None:
        self._backend = backend
        self.topic = topic
        self._call("start", topic=topic, subscription=subscription, check_interval_ms=check_interval_ms)

    def _call(self, action: str, **arguments: JSON) -> JSON:
        return self._backend.call("drill", {"action": action, **arguments})

    def produce(self, count: int) -> list[str]:
        keys = self._call("produce", count=count)
        return [str(k) for k in keys] if isinstance(keys, list) else []

    def run_traffic(self, messages: int = 200, batch: int = 5, pause_s: float = 0.1, unconsumed: int = 20) -> None:
        self._call("run_traffic", messages=messages, batch=batch, pause_s=pause_s, unconsumed=unconsumed)

    def mark_failure(self) -> None:
        self._call("mark_failure")

    def receive_rest(self, timeout_s: float = 60.0) -> bool:
        return bool(self._call("receive_rest", timeout_s=timeout_s))

    def switch_back(self, timeout_s: float = 120.0, messages: int = 10) -> bool:
        return bool(self._call("switch_back", timeout_s=timeout_s, messages=messages))

    def report(self) -> DrillReport:
        data = self._call("report")
        if not isinstance(data, dict):
            raise LabError(_("The grader answered the drill's report with {kind}; expected an object. Run the "
                             "notebook again; if it persists, tell the course team.").format(kind=type(data).__name__))
        return DrillReport.from_wire(data)

    def close(self) -> None:
        self._call("close")


# ------------------------------------------------------------------------------ the trusted side


class ControlHandler(Protocol):
    """What a trusted side does for a kernel; it decides what is allowed (names are checked for form
    before they reach it)."""

    def start(self, topology: Topology, name: str, base_port: int | None, configure: bool, probe: bool,
              progress: Progress) -> tuple[LabRecord, tuple[Forward, ...]]: ...

    def attach(self, name: str) -> tuple[LabRecord, tuple[Forward, ...]]: ...

    def remove(self, name: str) -> tuple[int, int]: ...

    def cluster_state(self, name: str, cluster: str) -> str: ...

    def cluster_action(self, name: str, cluster: str, action: str, progress: Progress) -> float: ...

    def link_action(self, name: str, a: str, b: str, action: str) -> None: ...

    def call(self, verb: str, body: JSON) -> JSON: ...


#: Requests one kernel may have in flight at once; more are turned away (a kernel cannot tie up the
#: trusted side with idle connections: each also has a read timeout).
MAX_CONCURRENT = 8
READ_TIMEOUT_S = 30
#: What one request may send in all (request line, headers and body), and how long it may take to send
#: it: the trusted side never holds more of a request than this, nor waits longer for one.
MAX_REQUEST = MAX_BODY + 16 * 1024
REQUEST_DEADLINE_S = 10.0
#: The longest path an audit line keeps.
AUDIT_PATH = 200


class BoundedReader(io.RawIOBase):
    """The request side of one connection, bounded in bytes and in time: once `budget` bytes were read
    it reads as the end of the stream (`exhausted` says so: the request is refused as too large), and a
    read after `deadline_s` (from the connection's start) times out. So no request, whatever its
    headers say, makes the trusted side read more than `budget` bytes or wait longer than `deadline_s`."""

    def __init__(self, connection: socket.socket, budget: int, deadline_s: float) -> None:
        super().__init__()
        self._connection = connection
        self.left = budget
        self.exhausted = False
        self._deadline = time.monotonic() + deadline_s

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.left <= 0:
            self.exhausted = True
            return 0
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError  # the handler answers a late request as timed out
        self._connection.settimeout(remaining)
        view = memoryview(buffer)[:min(len(buffer), self.left)]
        read = self._connection.recv_into(view)
        self.left -= read
        return read


def content_length(method: str, headers: Message) -> int:
    """The body length a request announces, checked before a byte of it is read: plain decimal digits,
    at most `MAX_BODY`; a POST must announce one (0 when it has no body); a chunked body is refused.

    Raises:
        UsageError: the length is missing on a POST, negative, not a number, too large, or chunked.
    """
    if headers.get("Transfer-Encoding"):
        raise UsageError(_("The control channel refused a request with Transfer-Encoding {encoding!r}; expected a "
                           "body of a stated Content-Length.").format(encoding=str(headers["Transfer-Encoding"])[:40]))
    given = headers.get("Content-Length")
    if given is None:
        if method == "POST":
            raise UsageError(_("The control channel refused a POST without Content-Length; expected the body's "
                               "length in bytes (0 for none)."))
        return 0
    text = given.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise UsageError(_("The control channel refused a request with Content-Length {length!r}; expected a "
                           "number of bytes from 0 to {most}.").format(length=given[:40], most=MAX_BODY))
    length = int(text)
    if length > MAX_BODY:
        raise UsageError(_("The control channel refused a {length}-byte request; expected at most "
                           "{most}.").format(length=length, most=MAX_BODY))
    return length


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, path: str, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(path, handler)
        self.slots = threading.BoundedSemaphore(MAX_CONCURRENT)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)  # too many at once: refused, not queued
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


#: Requests an audit log keeps (the newest ones).
AUDIT_LENGTH = 2000


class ChannelServer:
    """Serves JSON-lines answers on a Unix socket to whoever holds `token`; `_route` says what each
    request does. `mode`: the socket's permissions (0666 for a kernel that runs as another user and
    sees only the socket's folder; 0600 for an admin socket only root may use). Each request is handled
    in the language its Accept-Language header names (see the module docstring)."""

    #: Said to a request without the token (an `N_()`-marked message, translated when said).
    refusal = N_("The control channel refused a request without this kernel's token; expected the token the grader "
                 "or lab server gave this kernel.")

    def __init__(self, socket_path: Path, token: str, mode: int = 0o666,
                 on_request: Callable[[str, str], None] | None = None) -> None:
        self.socket_path = socket_path
        self.token = token
        self.on_request = on_request
        self.requests: deque[str] = deque(maxlen=AUDIT_LENGTH)  # method and path of every request, refused too
        socket_path.unlink(missing_ok=True)  # a socket a stopped server left behind
        self._server = _Server(str(socket_path), self._request_class())
        os.chmod(socket_path, mode)

    def _request_class(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the body ends when the connection closes: lines can stream
            timeout = READ_TIMEOUT_S  # a connection that sends nothing is closed
            reader: BoundedReader

            def setup(self) -> None:
                super().setup()
                # every byte of the request (line, headers, body) is read through a bounded reader
                self.reader = BoundedReader(self.connection, MAX_REQUEST, REQUEST_DEADLINE_S)
                self.rfile = io.BufferedReader(self.reader, 8192)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib's name)
                return

            def do_GET(self) -> None:  # noqa: N802 (stdlib's name)
                outer._handle(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                outer._handle(self, "POST")

            def do_DELETE(self) -> None:  # noqa: N802
                outer._handle(self, "DELETE")

        return Request

    def start(self) -> ChannelServer:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="geolab-control",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.socket_path.unlink(missing_ok=True)

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        self.requests.append(f"{method} {request.path[:AUDIT_PATH]}")
        request.send_response(200)
        request.send_header("Content-Type", "application/x-ndjson")
        request.end_headers()

        def send(message: JSON) -> None:
            try:
                request.wfile.write(json.dumps(message).encode() + b"\n")
                request.wfile.flush()
            except OSError:
                pass  # the kernel went away; nothing to tell it

        # this request's own thread: its handler, progress lines and errors speak the kernel's language
        with using(wire_language(request.headers.get(LANGUAGE_HEADER))):
            try:
                reader = getattr(request, "reader", None)  # the handler's BoundedReader
                if isinstance(reader, BoundedReader) and reader.exhausted:
                    raise UsageError(_("The control channel refused a request of more than {most} bytes (its "
                                       "headers and body); expected a smaller one.").format(most=MAX_REQUEST))
                given = request.headers.get("Authorization", "")
                if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                    raise UsageError(_(self.refusal))
                if self.on_request is not None:
                    self.on_request(method, request.path)
                body = self._body(request, method)
                request.connection.settimeout(READ_TIMEOUT_S)  # the answer streams for as long as the verb runs
                result = self._route(method, request.path, body, lambda line: send({"progress": line}))
                send({"result": result})
            except LabError as exc:
                send({"error": {"type": type(exc).__name__, "message": str(exc)}})
            except Exception as exc:  # a bug on the trusted side must not hang the kernel
                send({"error": {"type": "LabError", "message": _(
                    "The trusted side failed: {error}. Tell your instructor.").format(
                    error=f"{type(exc).__name__}: {str(exc)[:300]}")}})

    @staticmethod
    def _body(request: BaseHTTPRequestHandler, method: str) -> JSON:
        """The request's JSON body (None when it has none), read within the request's bounds."""
        length = content_length(method, request.headers)
        if not length:
            return None
        try:
            data = request.rfile.read(length)
        except TimeoutError:
            raise UsageError(_("The control channel refused a request whose body did not arrive within {seconds} s; "
                               "expected it at once.").format(seconds=f"{REQUEST_DEADLINE_S:g}")) from None
        if len(data) < length:
            raise UsageError(_("The control channel refused a request whose body ended after {got} of the {length} "
                               "bytes it announced (at most {most} are read); expected all of it.").format(
                got=len(data), length=length, most=MAX_BODY))
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            raise UsageError(_("The control channel refused a body that is not JSON; expected a JSON "
                               "object.")) from None

    def _route(self, method: str, path: str, body: JSON, progress: Progress) -> JSON:
        raise NotImplementedError


class ControlServer(ChannelServer):
    """Serves one `ControlHandler` on a Unix socket, for one kernel holding `token`."""

    def __init__(self, socket_path: Path, token: str, handler: ControlHandler,
                 on_request: Callable[[str, str], None] | None = None) -> None:
        self.handler = handler
        super().__init__(socket_path, token, 0o666, on_request)

    def start(self) -> ControlServer:
        super().start()
        return self

    def _route(self, method: str, path: str, body: JSON, progress: Progress) -> JSON:
        parts = [p for p in path.split("?")[0].split("/") if p]
        if parts[:2] == ["v1", "calls"] and len(parts) == 3 and method == "POST":
            return self.handler.call(_name(parts[2]), body)
        if parts[:2] != ["v1", "labs"]:
            raise UsageError(_("The control channel has no {method} {call}; expected one of its lab verbs.").format(
                method=method, call=path))
        rest = parts[2:]
        if not rest and method == "POST":
            if not isinstance(body, dict):
                raise UsageError(_("A lab start needs a JSON object; expected one with the keys topology, name, "
                                   "configure and probe."))
            topology = Topology.from_json(str(body.get("topology")))
            base_port = body.get("base_port")
            record, forwards = self.handler.start(
                topology, _name(str(body.get("name"))), int(base_port) if base_port is not None else None,
                bool(body.get("configure", True)), bool(body.get("probe", True)), progress)
            return record_to_wire(record, forwards)
        if len(rest) == 1 and method == "GET":
            return record_to_wire(*self.handler.attach(_name(rest[0])))
        if len(rest) == 1 and method == "DELETE":
            containers, networks = self.handler.remove(_name(rest[0]))
            return {"containers": containers, "networks": networks}
        if len(rest) == 3 and rest[1] == "clusters" and method == "GET":
            return {"state": self.handler.cluster_state(_name(rest[0]), _name(rest[2]))}
        if len(rest) == 4 and rest[1] == "clusters" and rest[3] in ACTIONS and method == "POST":
            seconds = self.handler.cluster_action(_name(rest[0]), _name(rest[2]), rest[3], progress)
            return {"seconds": seconds}
        if len(rest) == 5 and rest[1] == "links" and rest[4] in LINK_ACTIONS and method == "POST":
            self.handler.link_action(_name(rest[0]), _name(rest[2]), _name(rest[3]), rest[4])
            return {}
        raise UsageError(_("The control channel has no {method} {call}; expected one of its lab verbs.").format(
            method=method, call=path))


def _name(value: str) -> str:
    if not NAME.match(value):
        raise UsageError(_("{value!r} is not a lab, cluster or verb name; expected lowercase letters, digits and "
                           "'-'.").format(value=value[:80]))
    return value
