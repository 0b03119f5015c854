"""The one waiting helper: returns the accepted value, tolerates only what it is told, and at the
deadline names what it waited for and the last value or error it saw."""

from __future__ import annotations

import itertools

import pytest

from labs.errors import LabError, WaitTimeout
from labs.waiting import wait_for


def test_returns_the_first_accepted_value() -> None:
    values = itertools.count()
    assert wait_for(lambda: next(values), what="three", timeout_s=5, interval_s=0, accept=lambda v: v >= 3) == 3


def test_timeout_names_what_and_the_last_value() -> None:
    with pytest.raises(WaitTimeout) as info:
        wait_for(lambda: "HTTP 503 starting", what="beijing's health check", timeout_s=0.2, interval_s=0.05,
                 accept=lambda answer: answer == "HTTP 200 ok")
    error = info.value
    assert isinstance(error, LabError) and isinstance(error, TimeoutError)
    assert error.what == "beijing's health check" and error.last == "HTTP 503 starting"
    assert "beijing's health check" in str(error) and "HTTP 503 starting" in str(error)


def test_tolerated_errors_are_retried_and_reported() -> None:
    def probe() -> bool:
        raise ConnectionError("refused")

    with pytest.raises(WaitTimeout) as info:
        wait_for(probe, what="a connection", timeout_s=0.2, interval_s=0.05, tolerate=(ConnectionError,))
    assert isinstance(info.value.last, ConnectionError) and "refused" in str(info.value)


def test_other_errors_propagate_at_once() -> None:
    calls = []

    def probe() -> bool:
        calls.append(1)
        raise KeyError("bug")

    with pytest.raises(KeyError):
        wait_for(probe, what="x", timeout_s=5, tolerate=(ConnectionError,))
    assert len(calls) == 1


def test_halt_gives_up_early() -> None:
    class Exited(LabError):
        pass

    def halt() -> None:
        raise Exited("the container exited")

    with pytest.raises(Exited):
        wait_for(lambda: False, what="x", timeout_s=5, halt=halt)
