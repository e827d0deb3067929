"""Logging: one JSON object per line on stdout, each tagged with the request's id and span.

The platform (Cloud Foundry's loggregator, or any log shipper) collects stdout; JSON
lines let it index fields without parsing free text.

Lines are written whole, each `write` at most 4 KiB of whole lines, so lines from several
workers sharing one pipe never interleave (a pipe takes up to 4 KiB in one piece). Log
records (warnings, errors) are written at once. The access log (middleware.py) writes
without a LogRecord, whose machinery was most of the cost of a request, and through a
buffer, as nginx's `access_log ... buffer=4k flush=...` does: a system call costs more
than the rest of a line, so lines go out together, at most FLUSH_INTERVAL seconds after
they were written, before a fork and when the worker exits (SIGTERM's drain, a reload).
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import msgspec

from example_app.tracing import current_span

# The request being served by this thread; set by RequestMiddleware.
current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)

# LogRecord attributes that are plumbing, not fields someone logged on purpose.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}

# A field value JSON has no type for (a Path, an exception) is written as its str().
_encode = msgspec.json.Encoder(enc_hook=str).encode
# PIPE_BUF on Linux: a write of up to this many bytes to a pipe is never split.
ATOMIC_WRITE_BYTES = 4096
FLUSH_INTERVAL = 0.2  # seconds a buffered access line may wait
MAX_PENDING_LINES = 1000  # lines a buffer holds at most (about 200 KB)
_MILLIS_SUFFIX = tuple(f".{millis:03d}+00:00" for millis in range(1000))


class JsonLines:
    """Writes JSON objects as lines through `write`, which takes each whole line as bytes."""

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self._write = write
        self._second = -1
        self._second_text = ""

    def write(self, entry: dict[str, Any]) -> None:
        self._write(_encode(entry) + b"\n")

    def timestamp(self, seconds: float) -> str:
        """`seconds` since the epoch as ISO 8601 UTC with milliseconds, as the lines carry it.

        Formatting a datetime costs more than the rest of a line; it changes once a second.
        """
        millis = int(seconds * 1000)
        whole = millis // 1000
        if whole != self._second:
            self._second = whole
            self._second_text = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return self._second_text + _MILLIS_SUFFIX[millis % 1000]


class BufferedJsonLines(JsonLines):
    """JsonLines that collects lines and writes them in batches of up to 4 KiB: every
    `flush_interval` seconds (from a thread of each process that writes), as soon as
    MAX_PENDING_LINES wait, before a fork and at exit.

    A request only appends its line to a deque (thread-safe without a lock); the
    flushing takes a lock of its own.
    """

    _pending: collections.deque[bytes]
    _flush_lock: threading.Lock
    _flushing: bool

    def __init__(self, write: Callable[[bytes], object], flush_interval: float) -> None:
        super().__init__(write)
        self._flush_interval = flush_interval
        self._start_empty()
        os.register_at_fork(before=self.flush, after_in_child=self._start_empty)
        atexit.register(self.flush)

    def write(self, entry: dict[str, Any]) -> None:
        self._pending.append(_encode(entry) + b"\n")
        if len(self._pending) >= MAX_PENDING_LINES:
            self.flush()
        if not self._flushing:
            self._flushing = True
            threading.Thread(target=self._flush_forever, name="log-flush", daemon=True).start()

    def flush(self) -> None:
        with self._flush_lock:
            batch: list[bytes] = []
            size = 0
            while self._pending:
                line = self._pending.popleft()
                if batch and size + len(line) > ATOMIC_WRITE_BYTES:
                    self._write(b"".join(batch))
                    batch.clear()
                    size = 0
                batch.append(line)
                size += len(line)
            if batch:
                self._write(b"".join(batch))

    def _flush_forever(self) -> None:
        while True:
            time.sleep(self._flush_interval)
            self.flush()

    def _start_empty(self) -> None:
        self._pending = collections.deque()
        self._flush_lock = threading.Lock()
        self._flushing = False


def stdout_lines() -> JsonLines:
    """Lines on file descriptor 1 itself: uWSGI points Python's sys.stdout at stderr."""
    return JsonLines(_write_all_to_stdout)


def buffered_stdout_lines() -> BufferedJsonLines:
    return BufferedJsonLines(_write_all_to_stdout, FLUSH_INTERVAL)


def _write_all_to_stdout(data: bytes) -> None:
    view = memoryview(data)
    while view:  # a signal can interrupt a write part way; write the rest
        view = view[os.write(1, view) :]


class JsonLogHandler(logging.Handler):
    """Writes every record as one JSON line: ts, level, logger, message, request_id,
    trace_id, span_id, extras."""

    def __init__(self, lines: JsonLines) -> None:
        super().__init__()
        self._lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.write(self.entry(record))
        except Exception:
            self.handleError(record)

    def entry(self, record: logging.LogRecord) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "ts": self._lines.timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id is not None:
            entry["request_id"] = request_id
        span = current_span.get()
        if span is not None:
            entry["trace_id"] = span.trace_id
            entry["span_id"] = span.span_id
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES:  # what was passed as `extra`, in its order
                entry[key] = value
        if record.exc_info:
            entry["exception"] = logging.Formatter().formatException(record.exc_info)
        return entry


def configure_logging(level: str, lines: JsonLines) -> None:
    """Send every log record of this process to `lines` as JSON."""
    # Skip what every record would otherwise collect and these lines never show: the
    # caller's file and line (a stack walk), thread and process names (the Python docs'
    # "Optimization" advice).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [JsonLogHandler(lines)]
    root.setLevel(level)
