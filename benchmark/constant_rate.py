"""A constant-rate HTTP load generator that measures latency from the intended send time.

wrk sends the next request on a connection only when the previous answer is in, so a
server that stalls also stops the clock that measures it ("coordinated omission"): the
requests that would have queued behind the stall are never sent, and the percentiles
look better than what users at a steady arrival rate would see. wrk2 fixes this with a
schedule; it is not packaged for Debian, so this is the same method in a small script:

- Each of C persistent connections has its own schedule, one request every C/rate
  seconds, staggered so that together they send `rate` requests per second.
- A request's latency runs from its *intended* send time to its last response byte.
  When the previous answer on that connection is late, the request goes out late but
  its clock started on time, so the queueing delay a stall causes is counted.
- A connection the server closed (Connection: close, or a server that closes without
  saying so) is re-opened at the next send, and that connect is part of the latency,
  as it is for any client of such a server. A request the server drops after it was
  sent (reset, EOF, no answer within the timeout) counts as failed.

One thread, non-blocking reads through select() (microsecond timeouts: epoll's are
whole milliseconds), no asyncio, and real-time scheduling (SCHED_FIFO) when allowed, so
that other programs on the client CPU do not delay its sends (it sleeps between them,
so it takes the CPU only in short bursts). How late it sent, when the connection was
free in time, is reported as `generator_lag_us`: its precision is on record with each run.

    python -m benchmark.constant_rate --url http://127.0.0.1:8000/ --rate 1000 \
        --connections 64 --duration 30 [--body-file benchmark/body.json]

prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import select
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

# Stop waiting for the rest of the run this long after its last intended send.
DRAIN_SECONDS = 5.0


@dataclass
class Connection:
    """One client connection and the one request it may have in flight."""

    address: tuple[str, int]
    intended: float  # the intended send time of this connection's next (or current) request
    interval: float  # seconds between this connection's intended sends
    sock: socket.socket | None = None
    in_flight: bool = False
    sent_at: float = 0.0
    freed_at: float = 0.0  # when its previous request ended
    buffer: bytearray = field(default_factory=bytearray)

    def open(self) -> None:
        sock = socket.create_connection(self.address, timeout=2.0)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        self.sock = sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.buffer.clear()


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    generator_lags: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(
        default_factory=lambda: {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    )
    sent: int = 0


def build_request(host: str, port: int, path: str, body: bytes | None) -> bytes:
    """The same request line and headers wrk sends (plus a body for POST)."""
    if body is None:
        return f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def parse_response(buffer: bytearray) -> tuple[int, bool] | None:
    """(status, server closes after it) once a whole response is in the buffer, else None.

    Enough HTTP/1.1 for these servers: Content-Length or chunked bodies.
    """
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    lines = bytes(buffer[:head_end]).decode("latin-1").split("\r\n")
    version, status, *_ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    closes = headers.get("connection") == "close" or version == "HTTP/1.0"
    body_start = head_end + 4
    if "content-length" in headers:
        complete = len(buffer) >= body_start + int(headers["content-length"])
    elif headers.get("transfer-encoding") == "chunked":
        complete = _chunked_body_complete(buffer, body_start)
    else:
        return None  # a body that ends at EOF: not used by any contender
    return (int(status), closes) if complete else None


def _chunked_body_complete(buffer: bytearray, position: int) -> bool:
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return False
        size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
        if size == 0:
            return buffer.find(b"\r\n", line_end + 2) >= 0  # no trailers are sent
        position = line_end + 2 + size + 2
        if len(buffer) < position:
            return False


def send(conn: Connection, request: bytes, now: float, results: Results) -> None:
    """Send the connection's next request, opening the connection first if needed."""
    results.sent += 1
    if conn.freed_at <= conn.intended:
        # The connection was free in time: how late this send is, is our own lateness.
        results.generator_lags.append(now - conn.intended)
    if conn.sock is not None and _closed_by_server(conn.sock):
        conn.close()  # as an HTTP client's pool does before it reuses a connection
    try:
        if conn.sock is None:
            conn.open()
        assert conn.sock is not None
        # A request of a few hundred bytes fits the empty send buffer of an idle socket.
        if conn.sock.send(request) != len(request):
            raise BlockingIOError
    except OSError:
        finish(conn, results, error="connect" if conn.sock is None else "write")
        return
    conn.in_flight = True
    conn.sent_at = now


def _closed_by_server(sock: socket.socket) -> bool:
    """True when an idle connection has been closed (or reset) by the server."""
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False  # nothing to read: still open
    except OSError:
        return True


def finish(
    conn: Connection,
    results: Results,
    *,
    status: int | None = None,
    error: str | None = None,
    closes: bool = False,
) -> None:
    """Record the request's outcome and schedule the connection's next request."""
    now = time.perf_counter()
    if error is not None:
        results.errors[error] += 1
        conn.close()
    else:
        results.statuses[str(status)] = results.statuses.get(str(status), 0) + 1
        results.latencies.append(now - conn.intended)
        conn.buffer.clear()
        if closes:
            conn.close()
    conn.in_flight = False
    conn.freed_at = now
    conn.intended += conn.interval


def read(conn: Connection, results: Results) -> None:
    """Handle a readable socket: part of an answer, or the server closing the connection."""
    assert conn.sock is not None
    try:
        data = conn.sock.recv(65536)
    except BlockingIOError:
        return
    except OSError as error:
        data = b""
        if error.errno not in (errno.ECONNRESET, errno.EPIPE):
            raise
    if not data:
        if conn.in_flight:
            finish(conn, results, error="read")
        else:
            conn.close()  # an idle connection the server closed: re-open at the next send
        return
    if not conn.in_flight:
        return  # nothing is expected: ignore rather than misattribute
    conn.buffer += data
    parsed = parse_response(conn.buffer)
    if parsed is not None:
        status, closes = parsed
        finish(conn, results, status=status, closes=closes)


@dataclass(frozen=True)
class Load:
    url: str
    rate: float  # requests per second, all connections together
    connections: int
    duration: float  # seconds of intended sends
    body: bytes | None  # POST this as application/json; None: GET
    timeout: float  # seconds to wait for an answer


def run(load: Load) -> Results:
    parts = urlsplit(load.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = build_request(host, port, parts.path or "/", load.body)
    timeout = load.timeout
    start = time.perf_counter() + 0.2
    # Staggered by 1/rate, each every connections/rate seconds: `rate` a second in all.
    conns = [
        Connection(
            (host, port), intended=start + i / load.rate, interval=load.connections / load.rate
        )
        for i in range(load.connections)
    ]
    for conn in conns:
        conn.open()  # opened up front, as wrk2 does; never counted in a latency
    end = start + load.duration
    results = Results()
    while True:
        now = time.perf_counter()
        for conn in conns:
            if not conn.in_flight and conn.intended <= now and conn.intended < end:
                send(conn, request, now, results)
            elif conn.in_flight and now - conn.sent_at > timeout:
                finish(conn, results, error="timeout")
        pending = [c.intended for c in conns if not c.in_flight and c.intended < end]
        busy = any(c.in_flight for c in conns)
        if not pending and not busy:
            break
        if now > end + DRAIN_SECONDS:
            break
        # Sleep until the next intended send (select's timeout has microsecond precision).
        wait = max(0.0, min(pending) - now) if pending else 0.05
        by_socket = {c.sock: c for c in conns if c.sock is not None}
        readable, _, _ = select.select(list(by_socket), [], [], min(wait, 0.05))
        for sock in readable:
            read(by_socket[sock], results)
    for conn in conns:
        conn.close()
    return results


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of a sorted list."""
    if not values:
        return 0.0
    rank = max(1, round(p / 100 * len(values) + 0.5))
    return values[min(rank, len(values)) - 1]


def summary(results: Results, rate: float, connections: int, duration: float) -> dict[str, object]:
    latencies = sorted(results.latencies)
    lags = sorted(results.generator_lags)
    completed = len(latencies)
    failed = sum(results.errors.values()) + sum(
        n for s, n in results.statuses.items() if not s.startswith("2")
    )

    def micros(seconds: float) -> int:
        return round(seconds * 1_000_000)

    return {
        "rate": rate,
        "connections": connections,
        "duration_s": duration,
        "sent": results.sent,
        "completed": completed,
        "achieved_rate": round(completed / duration, 1),
        "failed": failed,
        "statuses": results.statuses,
        "errors": results.errors,
        "latency_us": {
            "mean": micros(sum(latencies) / completed) if completed else 0,
            "max": micros(latencies[-1]) if latencies else 0,
            "percentiles": {
                str(p): micros(percentile(latencies, p)) for p in (50, 75, 90, 95, 99, 99.9)
            },
        },
        "generator_lag_us": {
            "p50": micros(percentile(lags, 50)),
            "p99": micros(percentile(lags, 99)),
            "max": micros(lags[-1]) if lags else 0,
        },
    }


def _try_realtime() -> bool:
    """SCHED_FIFO for this process, where permitted (root, or CAP_SYS_NICE)."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    except (PermissionError, AttributeError, OSError):
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, required=True, help="seconds")
    parser.add_argument("--body-file", type=Path, help="POST this file as application/json")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds per answer")
    args = parser.parse_args(argv)
    realtime = _try_realtime()
    body = args.body_file.read_bytes() if args.body_file else None
    load = Load(args.url, args.rate, args.connections, args.duration, body, args.timeout)
    results = run(load)
    json.dump(
        {**summary(results, args.rate, args.connections, args.duration), "realtime": realtime},
        sys.stdout,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
