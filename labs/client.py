"""pulsar-client for host use: the external listener, logging through Python, and lookups retried.

On these standalone clusters a topic's first lookup can briefly answer with a broker's internal
address (`pulsar://<cluster>:6650`, unreachable from the host) or race the policy cache; the client
then fails with ConnectError or LookupError although a retry a moment later succeeds. Every client
the lab hands out retries subscribe, create_producer and create_reader for up to `RETRY_S`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pulsar

T = TypeVar("T")
RETRIED = (pulsar.ConnectError, pulsar.LookupError, pulsar.ServiceUnitNotReady, pulsar.Timeout)
RETRY_S = 30.0

#: The pulsar-client's log goes through Python logging under this name (warnings and errors by
#: default); the batch grader silences it, since probing a learner's broken lab logs expected errors.
CLIENT_LOGGER = logging.getLogger("labs.pulsar-client")
CLIENT_LOGGER.setLevel(logging.WARNING)


def with_retry(call: Callable[[], T], timeout_s: float = RETRY_S) -> T:
    """Run `call`, retrying connect/lookup errors until `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return call()
        except RETRIED:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


class LabClient(pulsar.Client):  # type: ignore[misc]
    """A `pulsar.Client` whose subscribe, create_producer and create_reader retry transient lookups."""

    def subscribe(self, *args: Any, **kwargs: Any) -> Any:
        return with_retry(lambda: super(LabClient, self).subscribe(*args, **kwargs))

    def create_producer(self, *args: Any, **kwargs: Any) -> Any:
        return with_retry(lambda: super(LabClient, self).create_producer(*args, **kwargs))

    def create_reader(self, *args: Any, **kwargs: Any) -> Any:
        return with_retry(lambda: super(LabClient, self).create_reader(*args, **kwargs))


def new_client(service: str | pulsar.AutoClusterFailover) -> pulsar.Client:
    """A client for host use: external listener, logging through `CLIENT_LOGGER`, retried lookups."""
    return LabClient(service, listener_name="external", operation_timeout_seconds=30, logger=CLIENT_LOGGER)
