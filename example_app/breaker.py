"""A circuit breaker: while a backing service is known to be down, fail fast.

A call that times out holds a worker for the whole timeout, and with a few workers per
instance a hung service would soon hold them all, liveness checks included. After one
failure the breaker opens: calls fail at once, without trying, for a short cool-down.
Then it is half-open: one call goes through as a probe while the others still fail
fast. The probe's success closes the breaker; its failure opens it for another cool-down.

Each process (each uWSGI worker) has its own breakers; threads in a process share them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class CircuitOpen(Exception):
    """The call was not tried: the service failed recently (see CircuitBreaker)."""


class CircuitBreaker:
    """Guards calls to one service; `failures` are the errors that mean it is down.

    Any other error (the service answered with an error, or the caller has a bug) is
    not the service being down, and counts as an answer.
    """

    def __init__(
        self,
        failures: tuple[type[BaseException], ...],
        cool_down: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._failures = failures
        self._cool_down = cool_down
        self._clock = clock
        self._lock = threading.Lock()
        # Until when calls fail fast; 0 while closed.
        self._open_until = 0.0
        # Whether a probe is in flight, while half-open.
        self._probing = False

    def call(self, command: Callable[..., T], *args: Any) -> T:
        """`command(*args)`, or CircuitOpen at once while the service is known to be down."""
        # Closed, the usual case, costs one attribute read: no lock, no clock.
        if self._open_until:
            self._admit_probe()
        try:
            result = command(*args)
        except self._failures:
            self._open()
            raise
        except BaseException:
            self._answered()
            raise
        self._answered()
        return result

    def _admit_probe(self) -> None:
        """Return if this call may be the probe, else raise CircuitOpen."""
        wait = self._open_until - self._clock()
        if wait > 0:
            raise CircuitOpen(f"failing fast after a failure; next try in {wait:.2f} s")
        with self._lock:
            if self._probing:
                raise CircuitOpen("failing fast after a failure; another call is trying")
            self._probing = True

    def _open(self) -> None:
        with self._lock:
            self._open_until = self._clock() + self._cool_down
            self._probing = False

    def _answered(self) -> None:
        # The service answered: close the breaker if it is open (a probe's answer, or one
        # to a call made before it opened). Nothing to do while closed, so no lock.
        if self._open_until:
            self._close()

    def _close(self) -> None:
        with self._lock:
            self._open_until = 0.0
            self._probing = False
