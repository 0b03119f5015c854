"""pulsar-client for host use: the service URL the lab shows, logging through Python.

Any Pulsar client works on a lab's service URL, with or without ``listener_name``: every address a
broker advertises is a loopback address (see `labs.cluster.PulsarContainer`), so a lookup answer
always leads back to the URL the client dialled. The lab's own clients add nothing to that: no
retries, no special listener, so they behave exactly like a learner's `pulsar.Client(url)`.
"""

from __future__ import annotations

import atexit
import logging
import sys
import weakref

import pulsar

from labs.i18n import _

#: The pulsar-client's log goes through Python logging under this name (warnings and errors by
#: default); the batch grader silences it, since probing a learner's broken lab logs expected errors.
CLIENT_LOGGER = logging.getLogger("labs.pulsar-client")
CLIENT_LOGGER.setLevel(logging.WARNING)


class _ClientLog(logging.Handler):
    """Shows a pulsar-client log line on stderr (the one of the moment: a kernel replaces it) inside a
    sentence of the reader's language that says whose line it is: the text after it is the client's
    own, in English, as Pulsar wrote it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(_("pulsar-client log: {line}").format(line=self.format(record)) + "\n")
        except Exception:  # noqa: BLE001 - logging must never raise into the client's callback
            self.handleError(record)


if not any(isinstance(handler, _ClientLog) for handler in CLIENT_LOGGER.handlers):
    CLIENT_LOGGER.addHandler(_ClientLog())
    CLIENT_LOGGER.propagate = False  # shown once, by the handler above


_OPEN: weakref.WeakSet[pulsar.Client] = weakref.WeakSet()


def new_client(service: str | pulsar.AutoClusterFailover, token: str = "") -> pulsar.Client:
    """A plain `pulsar.Client` on a lab service URL (or a failover provider), logging through Python;
    with `token`, authenticated as its role (a lab with authentication on)."""
    authentication = pulsar.AuthenticationToken(token) if token else None
    client = pulsar.Client(service, operation_timeout_seconds=30, logger=CLIENT_LOGGER, authentication=authentication)
    _OPEN.add(client)
    return client


def unsubscribe_or_close(consumer: pulsar.Consumer) -> None:
    """Remove a probe's subscription; a consumer whose broker went away is closed instead."""
    try:
        consumer.unsubscribe()
    except pulsar.PulsarException:
        consumer.close()


@atexit.register
def _close_open_clients() -> None:
    """Close the lab's clients before Python's logging shuts down: a pulsar client that outlives it
    prints its DEBUG log to the terminal of whoever ran a script and forgot `lab.close()`."""
    for client in list(_OPEN):
        try:
            client.close()
        except pulsar.PulsarException:
            pass
