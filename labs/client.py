"""pulsar-client for host use: the service URL the lab shows, logging through Python.

Any Pulsar client works on a lab's service URL, with or without ``listener_name``: every address a
broker advertises is a loopback address (see `labs.cluster.PulsarContainer`), so a lookup answer
always leads back to the URL the client dialled. The lab's own clients add nothing to that: no
retries, no special listener, so they behave exactly like a learner's `pulsar.Client(url)`.
"""

from __future__ import annotations

import logging

import pulsar

#: The pulsar-client's log goes through Python logging under this name (warnings and errors by
#: default); the batch grader silences it, since probing a learner's broken lab logs expected errors.
CLIENT_LOGGER = logging.getLogger("labs.pulsar-client")
CLIENT_LOGGER.setLevel(logging.WARNING)


def new_client(service: str | pulsar.AutoClusterFailover) -> pulsar.Client:
    """A plain `pulsar.Client` on a lab service URL (or a failover provider), logging through Python."""
    return pulsar.Client(service, operation_timeout_seconds=30, logger=CLIENT_LOGGER)
