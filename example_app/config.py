"""Configuration: read once from the environment into one immutable object.

Twelve-factor: nothing comes from files or flags. A bad value stops start-up with
one line that names the variable and says what it expects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from example_app import __version__

SERVICE_NAME = "example-app"
DEFAULT_PORT = 8000
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_PROCESSES = 2
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """An environment variable has a value the service cannot run with."""


@dataclass(frozen=True)
class Config:
    port: int = DEFAULT_PORT
    log_level: str = "INFO"
    version: str = __version__
    git_commit: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    processes: int = DEFAULT_PROCESSES
    # Where uWSGI's workers share their metrics (set by uwsgi.ini); None in one process.
    metrics_dir: str | None = None
    service_name: str = SERVICE_NAME


def load_config(environ: Mapping[str, str]) -> Config:
    """Build the configuration from an environment mapping (usually `os.environ`)."""
    port_variable = "PORT" if "PORT" in environ else "VCAP_APP_PORT"
    return Config(
        port=_integer(environ, port_variable, DEFAULT_PORT, minimum=1, maximum=65535),
        log_level=_log_level(environ),
        version=_text(environ, "VERSION", __version__),
        git_commit=environ.get("GIT_COMMIT") or None,
        max_body_bytes=_integer(
            environ, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, minimum=1, maximum=2**31
        ),
        processes=_integer(environ, "WEB_CONCURRENCY", DEFAULT_PROCESSES, minimum=1, maximum=64),
        metrics_dir=environ.get("PROMETHEUS_MULTIPROC_DIR") or None,
    )


def _integer(
    environ: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int
) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    expected = f"{name} must be an integer from {minimum} to {maximum}, got {raw!r}"
    try:
        value = int(raw.strip(), 10)
    except ValueError:
        raise ConfigError(expected) from None
    if not minimum <= value <= maximum:
        raise ConfigError(expected)
    return value


def _log_level(environ: Mapping[str, str]) -> str:
    raw = environ.get("LOG_LEVEL", "").strip()
    if raw == "":
        return "INFO"
    level = raw.upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


def _text(environ: Mapping[str, str], name: str, default: str) -> str:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    if len(raw) > 100 or not raw.isprintable():
        raise ConfigError(f"{name} must be printable text of at most 100 characters")
    return raw.strip()
