"""Configuration: read once from the environment into one immutable object.

Twelve-factor: nothing comes from files or flags. A bad value stops start-up with
one line that names the variable and says what it expects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from example_app import __version__

SERVICE_NAME = "example-app"
DEFAULT_PORT = 8000
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_PROCESSES = 2
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_OUTBOUND_TIMEOUT = 2.0
# The other service this one calls (see clients.py); found by this binding name.
PRICING_SERVICE = "pricing"
REDIS_SCHEMES = ("redis", "rediss", "unix")
_DECIMAL_INTEGER = re.compile(r"-?[0-9]+")

# Every variable the service reads, here or in uwsgi.ini (HOST, and what the platform
# sets). Tests and local deployments start the app with none inherited from the shell.
ENVIRONMENT_VARIABLES = (
    "PORT",
    "VCAP_APP_PORT",
    "HOST",
    "LOG_LEVEL",
    "VERSION",
    "GIT_COMMIT",
    "MAX_BODY_BYTES",
    "WEB_CONCURRENCY",
    "VCAP_SERVICES",
    "VCAP_APPLICATION",
    "REDIS_URL",
    "PRICING_URL",
    "PRICING_CRITICAL",
    "OUTBOUND_TIMEOUT",
    "PROMETHEUS_MULTIPROC_DIR",
)


class ConfigError(ValueError):
    """An environment variable has a value the service cannot run with."""


@dataclass(frozen=True)
class DownstreamService:
    """Another service this one calls over HTTP."""

    name: str
    url: str
    # A critical service must answer for this one to be ready.
    critical: bool = False
    health_path: str = "/health/live"


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
    # The bound Redis; None runs the embedded in-memory store instead.
    redis_url: str | None = field(default=None, repr=False)  # may hold a password
    pricing: DownstreamService | None = None
    outbound_timeout: float = DEFAULT_OUTBOUND_TIMEOUT
    service_name: str = SERVICE_NAME


def load_config(environ: Mapping[str, str]) -> Config:
    """Build the configuration from an environment mapping (usually `os.environ`)."""
    port_variable = "PORT" if environ.get("PORT", "").strip() else "VCAP_APP_PORT"
    services = _vcap_services(environ)
    return Config(
        port=_integer(environ, port_variable, DEFAULT_PORT, minimum=1, maximum=65535),
        log_level=_log_level(environ),
        version=_text(environ, "VERSION", __version__),
        git_commit=environ.get("GIT_COMMIT", "").strip() or None,
        max_body_bytes=_integer(
            environ, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, minimum=1, maximum=2**31
        ),
        processes=_integer(environ, "WEB_CONCURRENCY", DEFAULT_PROCESSES, minimum=1, maximum=64),
        metrics_dir=environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip() or None,
        redis_url=_redis_url(environ, services),
        pricing=_downstream(environ, services, PRICING_SERVICE),
        outbound_timeout=_seconds(environ, "OUTBOUND_TIMEOUT", DEFAULT_OUTBOUND_TIMEOUT),
    )


def _integer(
    environ: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int
) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    expected = f"{name} must be an integer from {minimum} to {maximum}, got {raw!r}"
    # Plain ASCII digits only: int() would also take "8_000" or other scripts' digits,
    # which uWSGI, reading PORT and WEB_CONCURRENCY itself, would not.
    if not _DECIMAL_INTEGER.fullmatch(raw.strip()):
        raise ConfigError(expected)
    value = int(raw.strip())
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


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    expected = f"{name} must be a number of seconds from 0.01 to 60, got {raw!r}"
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(expected) from None
    if not 0.01 <= value <= 60:  # also false for NaN
        raise ConfigError(expected)
    return value


def _boolean(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{name} must be true or false, got {environ[name]!r}")


# Cloud Foundry describes bound services in VCAP_SERVICES: a JSON object mapping each
# offering's label to a list of bindings, each with a name, tags and credentials.


def _vcap_services(environ: Mapping[str, str]) -> list[dict[str, Any]]:
    raw = environ.get("VCAP_SERVICES", "").strip()
    if not raw:
        return []
    try:
        document = json.loads(raw)
    except ValueError:
        raise ConfigError("VCAP_SERVICES must be a JSON object, got invalid JSON") from None
    if not isinstance(document, dict) or not all(
        isinstance(bindings, list) for bindings in document.values()
    ):
        raise ConfigError("VCAP_SERVICES must map each service label to a list of bindings")
    bindings = []
    for label, entries in document.items():
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("credentials", {}), dict):
                raise ConfigError(f"VCAP_SERVICES: each {label!r} binding must be an object")
            bindings.append({"label": label, **entry})
    return bindings


def _redis_url(environ: Mapping[str, str], services: list[dict[str, Any]]) -> str | None:
    for binding in services:
        tags = [str(tag).lower() for tag in binding.get("tags") or []]
        if "redis" in str(binding.get("label", "")).lower() or "redis" in tags:
            return _redis_url_from_credentials(binding.get("credentials") or {})
    raw = environ.get("REDIS_URL", "").strip()
    if not raw:
        return None
    if urlsplit(raw).scheme not in REDIS_SCHEMES:
        raise ConfigError(f"REDIS_URL must be a redis://, rediss:// or unix:// URL, got {raw!r}")
    return raw


def _redis_url_from_credentials(credentials: dict[str, Any]) -> str:
    # Brokers give either a URI or its parts; both spellings of the host are common.
    for key in ("uri", "url"):
        uri = credentials.get(key)
        if isinstance(uri, str) and urlsplit(uri).scheme in REDIS_SCHEMES:
            return uri
    host = credentials.get("host") or credentials.get("hostname")
    port = credentials.get("port")
    if not isinstance(host, str) or not str(port).isdigit():
        raise ConfigError(
            "VCAP_SERVICES: the redis binding needs credentials with a uri, or a host and port"
        )
    password = credentials.get("password") or ""
    auth = f":{quote(str(password), safe='')}@" if password else ""
    return f"redis://{auth}{host}:{port}/0"


def _downstream(
    environ: Mapping[str, str], services: list[dict[str, Any]], name: str
) -> DownstreamService | None:
    """A service called `name`: a user-provided binding of that name, else NAME_URL."""
    prefix = name.upper().replace("-", "_")
    for binding in services:
        if binding.get("name") == name:
            credentials = binding.get("credentials") or {}
            url = credentials.get("url")
            if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
                raise ConfigError(
                    f"VCAP_SERVICES: the {name!r} binding needs credentials.url, an http(s) URL"
                )
            return DownstreamService(
                name=name,
                url=url.rstrip("/"),
                critical=credentials.get("critical") is True,
                health_path=str(credentials.get("health_path") or "/health/live"),
            )
    url = environ.get(f"{prefix}_URL", "").strip()
    if not url:
        return None
    if urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError(f"{prefix}_URL must be an http:// or https:// URL, got {url!r}")
    return DownstreamService(
        name=name, url=url.rstrip("/"), critical=_boolean(environ, f"{prefix}_CRITICAL")
    )
