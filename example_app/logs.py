"""Logging: one JSON object per line on stdout, each tagged with the request id.

The platform (Cloud Foundry's loggregator, or any log shipper) collects stdout; JSON
lines let it index fields without parsing free text.

Every line is written whole with one `write` to the file descriptor: nothing is buffered
in the process, so no line is lost when a worker is stopped or killed, and lines from
several workers sharing one pipe do not interleave (a pipe writes up to 4 KiB atomically).
The access log (middleware.py) writes its lines here directly, without a LogRecord:
logging's per-record machinery was most of the cost of a request.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import msgspec

# The request being served by this thread; set by RequestMiddleware.
current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)

# LogRecord attributes that are plumbing, not fields someone logged on purpose.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}

# A field value JSON has no type for (a Path, an exception) is written as its str().
_encode = msgspec.json.Encoder(enc_hook=str).encode


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
        whole = int(seconds)
        if whole != self._second:
            self._second = whole
            self._second_text = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._second_text}.{int((seconds - whole) * 1000):03d}+00:00"


def stdout_lines() -> JsonLines:
    """Lines on file descriptor 1 itself: uWSGI points Python's sys.stdout at stderr."""
    return JsonLines(_write_all_to_stdout)


def _write_all_to_stdout(data: bytes) -> None:
    view = memoryview(data)
    while view:  # a signal can interrupt a write part way; write the rest
        view = view[os.write(1, view) :]


class JsonLogHandler(logging.Handler):
    """Writes every record as one JSON line: ts, level, logger, message, request_id, extras."""

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
