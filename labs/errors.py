"""Errors raised by the lab runtime: one tree, rooted at `LabError`.

Every error a learner, an instructor or a grader can cause is a `LabError`. Each message says what
failed, where, what was expected against what was found, and the next step; the CLI prints it in
one or two lines, never a traceback. The tree::

    LabError
    ├── SettingsError       a GEOLAB_* environment value is invalid (read before anything starts)
    ├── UsageError          a lab API got an argument it cannot use (a malformed topic, a rate out of range)
    ├── TopologyError       bad cluster names, links or presets (raised before anything starts)
    ├── EngineError         no Docker engine answers, or it stopped answering mid-start
    ├── ImageError          no Pulsar image can be found, pulled or built
    ├── PortInUseError      a requested host port on 127.0.0.1 is taken, or out of range
    ├── LabConflictError    a lab of that name runs with another topology
    ├── LabNotFoundError    no lab of that name, a cluster not in the lab, a container gone
    ├── QuotaError          a workshop's lab server has no room for this now (clusters, memory, rate)
    ├── ProvisioningError   a container did not become healthy in time (carries its last log lines)
    ├── WaitTimeout         a wait reached its deadline (names what it waited for and the last value)
    ├── AdminError          a call to the Pulsar admin REST API failed (method, url, status, reason)
    │   ├── AdminUnreachable    no HTTP answer: the broker is down, starting, or the port is wrong
    │   └── AdminRefused        the broker answered with an error status and Pulsar's reason
    └── (checks) GradingError   submissions, notebooks or hidden checks a grader cannot use
"""

from __future__ import annotations

from typing import Protocol


class Said(Protocol):
    """A text that says itself in the reader's language (a `labs.i18n.Text`; errors import nothing of the lab)."""

    def render(self) -> str: ...


class LabError(Exception):
    """Base of every error the lab raises on purpose."""


class SettingsError(LabError, ValueError):
    """A GEOLAB_* environment setting has a value the lab cannot use."""


class UsageError(LabError, ValueError):
    """A lab API was called with an argument it cannot use; nothing was changed."""


class TopologyError(LabError, ValueError):
    """A topology is invalid; raised before any container or network is created."""


class EngineError(LabError):
    """The Docker engine cannot be reached, or stopped answering while a lab started."""


class ImageError(LabError):
    """The Pulsar image is missing and could not be pulled or built."""


class PortInUseError(LabError):
    """A host port the lab was asked to publish on 127.0.0.1 is taken or outside the usable range."""


class LabConflictError(LabError):
    """A lab with the same name is running with a different topology."""


class LabNotFoundError(LabError, LookupError):
    """No lab of that name runs, a cluster is not part of the lab, or one of its containers is gone."""


class QuotaError(LabError):
    """A workshop's lab server refused: the learner's quota or the host's memory has no room for it now."""


class ProvisioningError(LabError):
    """A cluster or the configuration store did not start or become healthy."""


class WaitTimeout(LabError, TimeoutError):
    """A wait reached its deadline.

    Its message is the one `labs.waiting.wait_for` says in the reader's language (`message`: what did
    not happen, how long it waited, the last value seen, the next step). Without one: `what` rendered,
    then `hint`; or, for an older caller's phrase, an English sentence made of all four.

    Attributes:
        what: what did not happen in time: a `labs.i18n.Text` that says so in one whole sentence, or
            (older callers) an English phrase naming what was awaited ("beijing's health check").
        timeout_s: the deadline, in seconds.
        last: the last value (or error) seen before the deadline.
        hint: the next step, one whole sentence (may be empty).
    """

    what: str | Said = ""
    timeout_s: float = 0.0
    last: object = None
    hint: str = ""

    def __init__(self, what: str | Said, timeout_s: float, last: object, hint: str = "", message: str = ""
                 ) -> None:
        self.what = what
        self.timeout_s = timeout_s
        self.last = last
        self.hint = hint
        if not message:
            if isinstance(what, str):
                message = f"Waited {timeout_s:g} s for {what}; last seen: {last_seen(last)}"
                if hint:
                    message += f". {hint}"
            else:
                message = what.render() + (f" {hint}" if hint else "")
        super().__init__(message)


class AdminError(LabError):
    """A call to the Pulsar admin REST API failed.

    Its message is the one `labs.admin` says in the reader's language (`message`); without one, an
    English sentence made of the attributes.

    Attributes:
        method: HTTP method of the call.
        url: full URL that was called.
        status: HTTP status code (0 when no response arrived).
        reason: Pulsar's own ``reason`` text, the response body, or the transport error.
        hint: the next step, one whole sentence (may be empty).
    """

    def __init__(self, method: str, url: str, status: int, reason: str, hint: str = "", message: str = "") -> None:
        self.method = method
        self.url = url
        self.status = status
        self.reason = reason
        self.hint = hint
        if not message:
            what = f"HTTP {status}" if status else "no response"
            message = f"Pulsar admin call {method} {url} failed: {what}: {reason}"
            if hint:
                message += f". {hint}"
        super().__init__(message)


class AdminUnreachable(AdminError):
    """No HTTP answer came back (connection refused, reset or timed out): nothing to retry against."""


class AdminRefused(AdminError):
    """The broker answered with an error status; `reason` is Pulsar's explanation."""


def last_seen(value: object, limit: int = 300) -> str:
    """A value (or an error) as a message shows the last one a wait saw, at most `limit` characters."""
    text = f"{type(value).__name__}: {value}" if isinstance(value, BaseException) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
