"""Idle keep-alive connections to every contender, as Cloud Foundry's gorouter holds them.

gorouter keeps a pool of up to 100 idle connections per backend (MaxIdleConnsPerHost)
for up to 90 s each: after a request, it keeps the connection if the backend kept it
alive, and reuses it for a later request. A server that gives each open connection a
worker or a thread pays for such a pool while it serves other clients; one that
multiplexes connections (an event loop) barely notices it. Measuring without it would
flatter the first kind.

So for the whole shared phase (warm-up, rounds and the fixed rate) this pool holds up
to N connections to every contender: each opened, one `GET /` sent and answered, and
kept only if the server kept it (no `Connection: close`, not closed right after). A
watcher thread notices a held connection the server closes (an idle timeout shorter
than the run) and opens a new one in its place with one more `GET /`, as gorouter would
for its next requests; the lifetimes of those connections tell the server's idle
timeout, and whether it is shorter than gorouter's 90 s. All runs in the benchmark's
own process, on the client CPU set.
"""

from __future__ import annotations

import selectors
import socket
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from benchmark.constant_rate import parse_response

CONNECT_TIMEOUT = 2.0  # seconds, also for the answer to the one GET /
SETTLE_S = 0.2  # a server that closes without saying so has done it by then
RETRY_S = 1.0  # after a failed re-open, wait this long before the next try
# Re-opened at most this many per watcher tick (0.5 s): connections opened together
# expire together, and 100 answers at once would stall whichever server is measured.
REOPEN_PER_TICK = 10


@dataclass
class _Backend:
    key: str
    port: int
    wanted: int
    opened_at: dict[socket.socket, float] = field(default_factory=dict)
    kept_at_start: int = 0
    said_close: int = 0  # answers with Connection: close (or HTTP/1.0)
    closed_at_once: int = 0  # closed right after the answer, without saying so
    failed: int = 0  # no answer: could not connect, or no complete answer in time
    closed_by_server: int = 0  # held connections the server closed later
    reopened: int = 0
    lifetimes: list[float] = field(default_factory=list)  # seconds held until closed
    retry_after: float = 0.0


class IdlePool:
    """`with IdlePool(size) as pool:` `pool.add(key, port)` for each contender, then
    `pool.start()`; every connection is closed at the end."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._backends: dict[str, _Backend] = {}
        self._by_socket: dict[socket.socket, _Backend] = {}
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True, name="idle-pool")

    def __enter__(self) -> IdlePool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def add(self, key: str, port: int) -> None:
        """Open up to `size` connections to this server; keep those it keeps alive."""
        backend = _Backend(key, port, self.size)
        opened = []
        for _ in range(self.size):
            sock = self._open_one(backend)
            if sock is not None:
                opened.append(sock)
        # A server that closes without Connection: close has done so by now.
        time.sleep(SETTLE_S if opened else 0)
        with self._lock:
            self._backends[key] = backend
            for sock in opened:
                if _closed(sock):
                    backend.closed_at_once += 1
                    sock.close()
                else:
                    self._hold(backend, sock)
            backend.kept_at_start = len(backend.opened_at)

    def start(self) -> None:
        """Start watching the held connections (once every server has been added)."""
        self._thread.start()

    def held(self, key: str) -> int:
        with self._lock:
            backend = self._backends.get(key)
            return len(backend.opened_at) if backend else 0

    def stats(self, key: str) -> dict[str, Any]:
        with self._lock:
            b = self._backends[key]
            return {
                "wanted": b.wanted,
                "kept_at_start": b.kept_at_start,
                "held_at_end": len(b.opened_at),
                "refused_with_connection_close": b.said_close,
                "closed_right_after_answer": b.closed_at_once,
                "failed": b.failed,
                "closed_by_server_later": b.closed_by_server,
                "reopened": b.reopened,
                "idle_lifetime_s": {
                    "median": statistics.median(b.lifetimes),
                    "min": min(b.lifetimes),
                    "max": max(b.lifetimes),
                }
                if b.lifetimes
                else None,
            }

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with self._lock:
            for sock in list(self._by_socket):
                self._release(sock)
        self._selector.close()

    def _open_one(self, backend: _Backend) -> socket.socket | None:
        """A new connection with one GET / answered on it; None if the server will not
        keep it (it said Connection: close) or did not answer."""
        try:
            sock = socket.create_connection(("127.0.0.1", backend.port), CONNECT_TIMEOUT)
        except OSError:
            backend.failed += 1
            return None
        try:
            request = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{backend.port}\r\n\r\n"
            sock.sendall(request.encode())
            buffer = bytearray()
            parsed = None
            while parsed is None:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionResetError
                buffer += chunk
                parsed = parse_response(buffer)
        except OSError:
            backend.failed += 1
            sock.close()
            return None
        _, closes = parsed
        if closes:
            backend.said_close += 1
            sock.close()
            return None
        return sock

    def _hold(self, backend: _Backend, sock: socket.socket) -> None:
        sock.setblocking(False)
        backend.opened_at[sock] = time.monotonic()
        self._by_socket[sock] = backend
        self._selector.register(sock, selectors.EVENT_READ)

    def _release(self, sock: socket.socket) -> float:
        """Stop holding `sock`; how long it was held."""
        backend = self._by_socket.pop(sock)
        held_since = backend.opened_at.pop(sock)
        self._selector.unregister(sock)
        sock.close()
        return time.monotonic() - held_since

    def _watch(self) -> None:
        """An idle connection becomes readable only when the server closes (or resets)
        it: note how long it was held, then put a new one in its place."""
        while not self._stop.is_set():
            with self._lock:
                has_sockets = bool(self._by_socket)
            events = self._selector.select(timeout=0.5) if has_sockets else []
            if not has_sockets:
                self._stop.wait(0.5)
            with self._lock:
                for key, _ in events:
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock in self._by_socket and _read_closed(sock):
                        backend = self._by_socket[sock]
                        backend.lifetimes.append(self._release(sock))
                        backend.closed_by_server += 1
                backends = list(self._backends.values())
            for backend in backends:
                self._refill(backend)

    def _refill(self, backend: _Backend) -> None:
        """Open connections the server closed again, up to what it kept at the start."""
        now = time.monotonic()
        for _ in range(REOPEN_PER_TICK):
            if (
                self._stop.is_set()
                or len(backend.opened_at) >= backend.kept_at_start
                or now < backend.retry_after
            ):
                return
            sock = self._open_one(backend)
            if sock is None:
                backend.retry_after = now + RETRY_S
                return
            with self._lock:
                self._hold(backend, sock)
                backend.reopened += 1


def _closed(sock: socket.socket) -> bool:
    """True if the server has closed (or reset) this idle connection; reads nothing."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _read_closed(sock: socket.socket) -> bool:
    """Like _closed, but reads and drops anything a server sends on an idle connection,
    so that the watcher does not wake for it again."""
    try:
        return sock.recv(65536) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def probe_keep_alive(port: int) -> str:
    """What the server does with the connection after a response, seen from a client."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        buffer = bytearray()
        parsed = None
        while parsed is None:
            chunk = sock.recv(65536)
            if not chunk:
                return "closes before answering"
            buffer += chunk
            parsed = parse_response(buffer)
        _, announced = parsed
        sock.settimeout(0.2)
        try:
            closed = sock.recv(1) == b""
        except TimeoutError:
            closed = False
        except ConnectionResetError:
            closed = True
    if not closed:
        return "keeps the connection open"
    if announced:
        return "closes after each response, with Connection: close"
    return "closes after each response without Connection: close"
