"""A contender's server process: start, wait for the first 200, check answers, sample, stop.

Every server runs in a session of its own, so stopping it (SIGINT, then SIGKILL to the
process group) also stops its workers, whatever happens to the benchmark itself.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType

import psutil

from benchmark.contenders import Contender

READY_TIMEOUT = 90.0  # seconds; a JVM on one busy core can be slow to start
STOP_TIMEOUT = 15.0  # seconds from SIGINT to SIGKILL
SAMPLE_INTERVAL = 0.1  # seconds between memory samples of the server under load
IDLE_SAMPLE_INTERVAL = 1.0  # of a server waiting for its turn (a sample costs ~1 ms a process)


class BenchmarkError(Exception):
    """A contender that cannot be measured: it did not start, or answered wrongly."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class TreeSampler(threading.Thread):
    """Samples the server's whole process tree: peak RSS and PSS, and CPU time used.

    RSS counts a page shared by forked workers once per process (what the issue asks
    for); PSS splits it between them, which is closer to what a container's memory limit
    charges. CPU time is kept per pid, so workers that exit still count.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True, name="tree-sampler")
        self._root = psutil.Process(pid)
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._cpu_by_pid: dict[int, float] = {}
        self.peak_rss = 0
        self.peak_pss = 0
        self.max_processes = 0
        self.interval = SAMPLE_INTERVAL

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def focus(self, on: bool) -> None:
        """Sample often while this server is under load, rarely while it waits: with
        every contender up at once, sampling them all often would load the client CPU."""
        self.interval = SAMPLE_INTERVAL if on else IDLE_SAMPLE_INTERVAL

    def sample(self) -> None:
        try:
            processes = [self._root, *self._root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        rss = pss = 0
        for process in processes:
            try:
                with process.oneshot():
                    memory = process.memory_full_info()
                    times = process.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            rss += memory.rss
            pss += getattr(memory, "pss", memory.rss)
            with self._lock:
                self._cpu_by_pid[process.pid] = times.user + times.system
        with self._lock:
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.max_processes = max(self.max_processes, len(processes))

    def cpu_seconds(self) -> float:
        """CPU time the tree has used so far (sampled now, for phase boundaries)."""
        self.sample()
        with self._lock:
            return sum(self._cpu_by_pid.values())

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=2)


class Server:
    """`with Server(...) as server:` runs one contender and always stops it."""

    def __init__(self, contender: Contender, cpus: str, log_path: Path) -> None:
        self.contender = contender
        self.port = free_port()
        self.launch = contender.launch(self.port, cpus)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.sampler: TreeSampler | None = None
        self.started_at = 0.0
        self.stopped = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> Server:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.started_at = time.perf_counter()
            # The service's JSON access log goes here too: a file, as a log shipper
            # would read it, not /dev/null, so writing it costs what it costs.
            self.process = subprocess.Popen(
                self.launch.argv,
                cwd=self.launch.cwd,
                env=self.launch.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.sampler = TreeSampler(self.process.pid)
        self.sampler.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_ready(self) -> float:
        """Poll GET / from process start; milliseconds until the first 200."""
        assert self.process is not None
        deadline = self.started_at + READY_TIMEOUT
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise BenchmarkError(
                    f"{self.contender.key} exited with {self.process.returncode} before it "
                    f"answered; last lines of {self.log_path}:\n{self.log_tail()}"
                )
            try:
                status, _, _ = request(self.port, "GET", timeout=READY_TIMEOUT)
            except OSError:
                time.sleep(0.005)
                continue
            if status == 200:
                return (time.perf_counter() - self.started_at) * 1000
            time.sleep(0.005)
        raise BenchmarkError(f"{self.contender.key} gave no 200 in {READY_TIMEOUT:.0f} s")

    def check_running(self) -> None:
        """Raise if the server has exited (between phases, before it gets load again)."""
        assert self.process is not None
        if self.process.poll() is not None:
            raise BenchmarkError(
                f"{self.contender.key} exited with {self.process.returncode}; last lines of "
                f"{self.log_path}:\n{self.log_tail()}"
            )

    def log_tail(self, lines: int = 15) -> str:
        """The server's last own lines (the app's access log lines left out)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        own = [line for line in text.splitlines() if "example_app.access" not in line]
        return "\n".join(own[-lines:])

    def stop(self) -> None:
        """Stop the server and its whole process group; once (a failed contender is
        stopped at once, and again by its `with`: by then its group id may be another's)."""
        if self.stopped:
            return
        self.stopped = True
        if self.sampler is not None:
            self.sampler.stop()
        process = self.process
        if process is not None and process.poll() is None:
            # SIGINT, to the server's own process, which stops at once (uWSGI's master in
            # about 1 s). Not SIGTERM, the service's graceful drain: the stop is not
            # measured, and uwsgi.ini routes SIGTERM to a handler that the bare app does
            # not have (every stop would wait for the SIGKILL).
            process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=STOP_TIMEOUT)
        if process is not None:
            # Whatever is left of the group (a worker that outlived its master): SIGKILL.
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
        for path in self.launch.temp_dirs:
            shutil.rmtree(path, ignore_errors=True)
        # uwsgi.ini's per-port metrics directory.
        shutil.rmtree(f"/tmp/example-app-metrics-{self.port}", ignore_errors=True)


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def request(
    port: int, method: str, typed_body: tuple[str, bytes] | None = None, timeout: float = 5.0
) -> tuple[int, dict[str, str], bytes]:
    """One request to `/` on a fresh connection: (status, headers, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        content_type, body = typed_body or (None, None)
        headers = {"Content-Type": content_type} if content_type else {}
        connection.request(method, "/", body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        connection.close()


def check_answers(port: int, body: bytes, contender: str) -> None:
    """The contract every contender must meet before it gets any load.

    GET / is "Hello world\\n"; POST / with the benchmark body is that object with only
    the keys that start with a or A, in order; a POST that is not JSON is a 415.
    """
    status, headers, data = request(port, "GET")
    _expect(contender, "GET /", status == 200 and data == b"Hello world\n", status, data)
    _expect(
        contender,
        "GET / content type",
        headers.get("content-type", "").startswith("text/plain"),
        status,
        headers.get("content-type", "").encode(),
    )
    document = json.loads(body)
    expected = [(k, v) for k, v in document.items() if k[:1].lower() == "a"]
    status, _, data = request(port, "POST", ("application/json", body))
    try:
        answered = list(json.loads(data).items())
    except (ValueError, AttributeError):
        answered = None
    _expect(contender, "POST /", status == 200 and answered == expected, status, data)
    status, _, data = request(port, "POST", ("text/plain", b"hello"))
    _expect(contender, "POST / text/plain", status == 415, status, data)


def _expect(contender: str, what: str, ok: bool, status: int, data: bytes) -> None:
    if not ok:
        raise BenchmarkError(
            f"{contender}: wrong answer to {what}: {status} {data[:300]!r}; "
            "a contender that answers wrongly gets no numbers"
        )
