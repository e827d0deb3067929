"""Shared fixtures for the unit tier: apps built per test, and the JSON log lines they write."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import falcon
import falcon.testing
import pytest

from example_app.app import create_app
from example_app.clients import DownstreamClient
from example_app.config import ENVIRONMENT_VARIABLES, Config
from example_app.health import HealthCheck
from example_app.logs import JsonLines, configure_logging
from example_app.storage import ItemStore, MemoryItemStore
from tests.contract import ContractCheckingClient

ClientFactory = Callable[..., falcon.testing.TestClient]


class RecordingStream(io.RawIOBase):
    """A wsgi.input that remembers how many bytes the app read from it."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        self.bytes_read += len(chunk)
        return len(chunk)


class LogCapture:
    """JSON log lines written in memory: the app's access lines, and the root logger's
    when the `logs` fixture sends them here."""

    def __init__(self) -> None:
        self.output = io.BytesIO()
        self.lines_out = JsonLines(self.output.write)

    def text(self) -> str:
        return self.output.getvalue().decode("utf-8")

    def raw_lines(self) -> list[str]:
        return self.text().splitlines()

    def lines(self) -> list[dict[str, Any]]:
        """Every line written so far, each parsed as one JSON object."""
        return [json.loads(line) for line in self.raw_lines()]

    def by_logger(self, name: str) -> list[dict[str, Any]]:
        return [entry for entry in self.lines() if entry["logger"] == name]


@pytest.fixture
def log_capture() -> LogCapture:
    return LogCapture()


@pytest.fixture
def make_app(log_capture: LogCapture) -> Callable[..., falcon.App[Any, Any]]:
    """Build an app from Config(**overrides), with extra health checks if given.

    The item store is a fresh in-memory one unless `store` is given; the downstream
    services' clients are built from the config unless `clients` are given; access log
    lines go to `log_capture`.
    """

    def build(
        health_checks: tuple[HealthCheck, ...] = (),
        store: ItemStore | None = None,
        clients: Mapping[str, DownstreamClient] | None = None,
        **overrides: Any,
    ) -> falcon.App[Any, Any]:
        return create_app(
            Config(**overrides),
            store=MemoryItemStore() if store is None else store,
            clients=clients,
            health_checks=health_checks,
            access_lines=log_capture.lines_out,
        )

    return build


@pytest.fixture
def make_client(make_app: Callable[..., falcon.App[Any, Any]]) -> ClientFactory:
    """A TestClient for an app built by make_app (same arguments); every response it gets
    is checked against the OpenAPI document (tests/contract.py)."""

    def build(*args: Any, **kwargs: Any) -> falcon.testing.TestClient:
        return ContractCheckingClient(make_app(*args, **kwargs))

    return build


@pytest.fixture
def client(make_client: ClientFactory) -> falcon.testing.TestClient:
    """A TestClient for an app with the default configuration."""
    return make_client()


class LoggingResource:
    """A route that logs as application code does, to see what a log line carries."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        logging.getLogger("example_app.custom").info("working on it", extra={"item": 42})
        resp.media = {"ok": True}


@pytest.fixture
def logging_client(make_app: Callable[..., falcon.App[Any, Any]]) -> falcon.testing.TestClient:
    """A client of an app with GET /work, which writes one log line as application code."""
    app = make_app()
    app.add_route("/work", LoggingResource())
    return falcon.testing.TestClient(app)


@pytest.fixture
def restore_root_logger() -> Iterator[logging.Logger]:
    """Put the root logger's handlers and level back after a test reconfigures it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def logs(restore_root_logger: logging.Logger, log_capture: LogCapture) -> LogCapture:
    """The app's log output as JSON lines, at DEBUG, in memory: the access lines of apps
    built by make_app and every logger's."""
    configure_logging("DEBUG", log_capture.lines_out)
    return log_capture


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """os.environ without any variable the configuration reads."""
    for name in ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


PostJson = Callable[..., falcon.testing.Result]


@pytest.fixture
def post_json() -> PostJson:
    """POST a raw body to / of a client, as application/json unless told otherwise."""

    def post(
        client: falcon.testing.TestClient,
        body: bytes | str,
        content_type: str | None = "application/json",
    ) -> falcon.testing.Result:
        headers = {} if content_type is None else {"Content-Type": content_type}
        data = body.encode() if isinstance(body, str) else body
        return client.simulate_post("/", body=data, headers=headers)

    return post


@pytest.fixture
def recording_stream() -> Callable[[bytes], RecordingStream]:
    """Make a wsgi.input stream that counts the bytes read from it."""
    return RecordingStream
