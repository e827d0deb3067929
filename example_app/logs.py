"""Logging: one JSON object per line on stdout, each tagged with the request id.

The platform (Cloud Foundry's loggregator, or any log shipper) collects stdout; JSON
lines let it index fields without parsing free text.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

# The request being served by this thread; set by RequestContextMiddleware.
current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)

# LogRecord attributes that are plumbing, not fields someone logged on purpose.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
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
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str, stream: IO[str] | None = None) -> None:
    """Send every log record of this process to `stream` (stdout) as JSON lines."""
    if stream is None:
        # File descriptor 1 itself: uWSGI points Python's sys.stdout at stderr.
        stream = open(1, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
    # Skip what every record would otherwise collect and these lines never show: the
    # caller's file and line (a stack walk), thread and process names (the Python docs'
    # "Optimization" advice). This is most of the cost of an access log line.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
