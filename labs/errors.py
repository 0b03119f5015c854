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

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labs.i18n import Text


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

    Attributes:
        what: what did not happen in time: a `Text` that says it in one whole sentence ("Cluster
            'beijing' did not pass its health check at ... in time."), shown in the reader's language
            with the wait's length and the last value after it; or (older callers) an English phrase
            naming what was awaited ("beijing's health check"), shown in an English sentence.
        timeout_s: the deadline, in seconds.
        last: the last value (or error) seen before the deadline.
        hint: the next step, one whole sentence in the reader's language (may be empty).
    """

    what: str | Text = ""
    timeout_s: float = 0.0
    last: object = None
    hint: str = ""

    def __init__(self, what: str | Text, timeout_s: float, last: object, hint: str = "") -> None:
        from labs.i18n import Text, _  # labs.i18n imports this module

        self.what = what
        self.timeout_s = timeout_s
        self.last = last
        self.hint = hint
        if isinstance(what, Text):
            if hint:
                text = _("{said} Waited {seconds:g} s; last seen: {last}. {hint}").format(
                    said=what.render(), seconds=timeout_s, last=_short(last), hint=hint)
            else:
                text = _("{said} Waited {seconds:g} s; last seen: {last}.").format(
                    said=what.render(), seconds=timeout_s, last=_short(last))
        else:
            # an older caller's English phrase: glued into an English sentence (a translation cannot follow it)
            text = f"Waited {timeout_s:g} s for {what}; last seen: {_short(last)}"
            if hint:
                text += f". {hint}"
        super().__init__(text)


class AdminError(LabError):
    """A call to the Pulsar admin REST API failed.

    Attributes:
        method: HTTP method of the call.
        url: full URL that was called.
        status: HTTP status code (0 when no response arrived).
        reason: Pulsar's own ``reason`` text, the response body, or the transport error.
        hint: the next step, one whole sentence in the reader's language (may be empty).
    """

    def __init__(self, method: str, url: str, status: int, reason: str, hint: str = "") -> None:
        from labs.i18n import _  # labs.i18n imports this module

        self.method = method
        self.url = url
        self.status = status
        self.reason = reason
        self.hint = hint
        if status and hint:
            text = _("Pulsar admin call {method} {url} failed: HTTP {status}: {reason}. {hint}").format(
                method=method, url=url, status=status, reason=reason, hint=hint)
        elif status:
            text = _("Pulsar admin call {method} {url} failed: HTTP {status}: {reason}").format(
                method=method, url=url, status=status, reason=reason)
        elif hint:
            text = _("Pulsar admin call {method} {url} failed: no response: {reason}. {hint}").format(
                method=method, url=url, reason=reason, hint=hint)
        else:
            text = _("Pulsar admin call {method} {url} failed: no response: {reason}").format(
                method=method, url=url, reason=reason)
        super().__init__(text)


class AdminUnreachable(AdminError):
    """No HTTP answer came back (connection refused, reset or timed out): nothing to retry against."""


class AdminRefused(AdminError):
    """The broker answered with an error status; `reason` is Pulsar's explanation."""


def _short(value: object, limit: int = 300) -> str:
    text = f"{type(value).__name__}: {value}" if isinstance(value, BaseException) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
