"""One way to wait: poll a probe until it answers, with a deadline, a poll interval and the transient
errors it tolerates; at the deadline, an error that names what was awaited and the last value seen.

Every wait of the lab goes through `wait_for` (cluster health, the configuration store, namespace
policies, replication probes, messages to arrive, dashboard states, checks). Modelled on
testcontainers' wait strategies. Imports nothing of the lab but its errors and messages (both at the bottom).

`what` says, in one whole sentence, what did not happen in time (a `labs.i18n.Text`, so that it is
shown in the reader's language; the timeout adds how long it waited and what it saw last)::

    wait_for(admin.healthcheck, timeout_s=240,
             what=Text("Cluster {cluster!r} did not answer its health check with ok.", cluster="beijing"))
    wait_for(lambda: admin.get_namespace_clusters(ns), timeout_s=60, tolerate=(AdminError,),
             what=Text("Namespace {namespace} on shanghai did not list both clusters.", namespace=ns),
             accept=lambda clusters: clusters == ["beijing", "shanghai"])

(An English phrase naming what was awaited, ``what="beijing's health check"``, still works for older
callers, in an English sentence.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from labs.errors import WaitTimeout, last_seen
from labs.i18n import Text, _

T = TypeVar("T")


def _truthy(value: object) -> bool:
    return bool(value)


class Deadline:
    """A point in time `timeout_s` from now (monotonic clock)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._at = time.monotonic() + timeout_s

    @property
    def remaining_s(self) -> float:
        return max(0.0, self._at - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self._at

    def remaining_ms(self, cap_ms: int) -> int:
        """Milliseconds left, at most `cap_ms` and at least 1 (for client calls that take a timeout)."""
        return max(1, min(cap_ms, int(self.remaining_s * 1000)))


def wait_for(
    probe: Callable[[], T],
    *,
    what: str | Text,
    timeout_s: float,
    interval_s: float = 0.5,
    tolerate: tuple[type[BaseException], ...] = (),
    accept: Callable[[T], bool] = _truthy,
    halt: Callable[[], None] | None = None,
    hint: str = "",
) -> T:
    """Call `probe` every `interval_s` until `accept(value)` holds; return that value.

    Args:
        probe: reads the state once; may raise one of `tolerate` while the state is not there yet.
        what: what did not happen in time, one whole sentence in the learner's terms (a `Text`:
            "Cluster 'shanghai' did not answer its health check with ok."); an English phrase naming
            what is awaited ("shanghai's health check") is shown in an English sentence.
        timeout_s: the deadline.
        interval_s: pause between probes (0: probe again at once, for probes that block themselves).
        tolerate: errors that mean "not yet" (others propagate at once).
        accept: when the probed value is good enough (default: truthy).
        halt: called before each probe; raises to give up early (for example, the container exited).
        hint: the next step, one whole sentence in the learner's language, appended to the timeout message.

    Raises:
        WaitTimeout: the deadline passed; carries `what`, the timeout and the last value or error.
    """
    deadline = Deadline(timeout_s)
    last: object = None
    while True:
        if halt is not None:
            halt()
        try:
            value = probe()
        except tolerate as exc:
            last = exc
        else:
            if accept(value):
                return value
            last = value
        if deadline.expired:
            raise WaitTimeout(what, timeout_s, last, hint, timed_out(what, timeout_s, last, hint))
        if interval_s > 0:
            time.sleep(min(interval_s, deadline.remaining_s))


def timed_out(what: str | Text, timeout_s: float, last: object, hint: str = "") -> str:
    """A wait's timeout, said in the reader's language: `what` (a `Text`: the sentence that says what did
    not happen), how long it waited, the last value seen, and the next step. An older caller's English
    phrase (a str) is said in the English sentence it was written for."""
    if not isinstance(what, Text):
        return ""  # WaitTimeout says it in English
    if hint:
        return _("{said} Waited {seconds:g} s; last seen: {last}. {hint}").format(
            said=what.render(), seconds=timeout_s, last=last_seen(last), hint=hint)
    return _("{said} Waited {seconds:g} s; last seen: {last}.").format(
        said=what.render(), seconds=timeout_s, last=last_seen(last))
