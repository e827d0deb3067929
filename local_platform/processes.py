"""Server processes: each in a session of its own, its output in files, and stopped with
everything it started. Every wait is bounded."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TypeVar

LOOPBACK = "127.0.0.1"
# A free port can be taken between asking for it and binding it; then try another one.
PORT_ATTEMPTS = 3

T = TypeVar("T")


class DeployError(RuntimeError):
    """A service or the app did not start, or did not answer in time."""


class PortTaken(DeployError):
    """Another process had the port: start again on another one."""


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def on_a_free_port(start: Callable[[int], T], port: int, *, may_move: bool) -> T:
    """`start(port)`; when another process took the port first and nobody relies on it
    yet (`may_move`), again on another free port."""
    for _ in range(PORT_ATTEMPTS - 1):
        try:
            return start(port)
        except PortTaken:
            if not may_move:
                raise
            port = free_port()
    return start(port)


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll `condition` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class Process:
    """A server in a session of its own: its process group is all it starts (uWSGI's
    workers), so signals reach all of that and nothing else.

    It gets SIGTERM when the thread that started it ends without stopping it (a killed
    test run or CI job), so nothing is left serving: util-linux's setpriv sets that up
    and execs the command (where setpriv is missing, the server outlives such a kill).
    Start it from the thread that stops it.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        stdout: Path,
        stderr: Path | None = None,
    ) -> None:
        """`stderr` None: both streams go to `stdout`'s file. Files are appended to."""
        with contextlib.ExitStack() as files:
            out = files.enter_context(stdout.open("ab"))
            err: IO[bytes] | int = subprocess.STDOUT
            if stderr is not None:
                err = files.enter_context(stderr.open("ab"))
            setpriv = shutil.which("setpriv")
            die_with_parent = [setpriv, "--pdeathsig", "TERM"] if setpriv else []
            self.popen = subprocess.Popen(
                [*die_with_parent, *command],
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signum)

    def wait(self, timeout: float) -> int | None:
        """The exit status, or None if it still runs after `timeout` seconds."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM the leader (uWSGI drains, Redis exits) and wait; SIGKILL the whole
        group as a last resort. Returns the leader's exit status."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            if self.wait(timeout) is None:
                self.signal_group(signal.SIGKILL)
                self.popen.wait(5)
        # What the leader started may outlive it for a moment; nothing outlives a stop.
        if not wait_until(self._group_gone, 5):
            self.signal_group(signal.SIGKILL)
        return self.popen.returncode

    def _group_gone(self) -> bool:
        try:
            os.killpg(self.pid, 0)
        except (ProcessLookupError, PermissionError):  # PermissionError: the id was reused
            return True
        return False
