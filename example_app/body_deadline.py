"""A deadline for request bodies: a client that sends too slowly gets a 408, not a worker.

uWSGI waits up to its socket timeout (4 s) for each piece of a body and starts again with
every byte, so a body sent a byte a second holds a worker thread for as long as its
client likes. So each request with a body is watched: once its deadline passes, a
watchdog thread shuts the reading side of the connection, uWSGI's read of the body ends,
and the app answers 408 (example_app/json_body.py) on the still open writing side.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import Any

# Long enough for the largest body (MAX_BODY_BYTES, 1 MiB by default) over a slow mobile
# link; short enough that slow senders free their thread well before harakiri's 30 s.
BODY_DEADLINE_SECONDS = 10.0
CHECK_INTERVAL_SECONDS = 0.25
# The WSGI environ key that tells the body's reader why its read ended.
DEADLINE_PASSED = "example_app.body_deadline_passed"

Environ = MutableMapping[str, Any]


class BodyDeadlines:
    def __init__(
        self,
        seconds: float = BODY_DEADLINE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        shut_reading: Callable[[int], None] | None = None,
    ) -> None:
        self._seconds = seconds
        self._clock = clock
        self._shut_reading = shut_reading or _shut_reading
        # The lock makes "deadline passed" and "request finished" exclusive: a finished
        # request's descriptor may be reused by the next connection at once.
        self._lock = threading.Lock()
        self._watched: dict[int, tuple[float, Environ]] = {}
        self._watchdog: threading.Thread | None = None

    def watch(self, environ: Environ) -> int | None:
        """Start the deadline of this request's body; None when there is no socket."""
        try:
            descriptor: int = environ["wsgi.input"].fileno()
        except (AttributeError, OSError, ValueError):
            return None  # not read from a socket (falcon.testing, for one)
        with self._lock:
            self._watched[descriptor] = (self._clock() + self._seconds, environ)
        if self._watchdog is None or not self._watchdog.is_alive():  # none yet in this worker
            self._watchdog = threading.Thread(target=self._run, name="body-deadline", daemon=True)
            self._watchdog.start()
        return descriptor

    def release(self, descriptor: int) -> None:
        with self._lock:
            self._watched.pop(descriptor, None)

    def expire_overdue(self) -> int:
        """End the reading of every body past its deadline; how many there were."""
        now = self._clock()
        with self._lock:
            overdue = [fd for fd, (deadline, _) in self._watched.items() if deadline <= now]
            for descriptor in overdue:
                _, environ = self._watched.pop(descriptor)
                environ[DEADLINE_PASSED] = True
                self._shut_reading(descriptor)
        return len(overdue)

    def _run(self) -> None:
        while True:
            time.sleep(CHECK_INTERVAL_SECONDS)
            self.expire_overdue()


def _shut_reading(descriptor: int) -> None:
    # On a duplicate, so that closing it leaves the server's own descriptor alone.
    try:
        with socket.socket(fileno=socket.dup(descriptor)) as connection:
            connection.shutdown(socket.SHUT_RD)
    except OSError:
        pass  # the client has gone already
