"""Configuration: read once from the environment into one immutable object.

Twelve-factor: nothing comes from files or flags. A bad value stops start-up with
one line that names the variable and says what it expects. A message never repeats a
URL that may hold a password: it says what is wrong with it instead.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, quote, urlsplit

import redis

from example_app import __version__, bindings

SERVICE_NAME = "example-app"
DEFAULT_PORT = 8000
DEFAULT_HOST = "0.0.0.0"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_PROCESSES = 2
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_OUTBOUND_TIMEOUT = 2.0
# redis-py takes these prefixes only, and in lower case only.
REDIS_URL_PREFIXES = ("redis://", "rediss://", "unix://")
_DECIMAL_INTEGER = re.compile(r"-?[0-9]+")
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# A hostname label (RFC 1123; underscores too, as container and service names use them).
_HOSTNAME_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
# The path of a redis:// URL: nothing, or the database number.
_REDIS_DATABASE_PATH = re.compile(r"/?|/[0-9]+")

# The OpenTelemetry variables that turn span export on and tune it (telemetry.py); the
# OpenTelemetry SDK reads the ones this module does not.
TRACE_EXPORT_VARIABLES = (
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_EXPORT_TIMEOUT",
)

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
    *(variable for binding in bindings.BINDINGS for variable in binding.variables),
    "OUTBOUND_TIMEOUT",
    "PROMETHEUS_MULTIPROC_DIR",
    *TRACE_EXPORT_VARIABLES,
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
    # The address uWSGI listens on (uwsgi.ini reads HOST itself; checked here).
    host: str = DEFAULT_HOST
    log_level: str = "INFO"
    version: str = __version__
    git_commit: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    processes: int = DEFAULT_PROCESSES
    # Where uWSGI's workers share their metrics (set by uwsgi.ini); None in one process.
    metrics_dir: str | None = None
    # The bound Redis; None runs the embedded in-memory store instead.
    redis_url: str | None = field(default=None, repr=False)  # may hold a password
    # Each service of bindings.BINDINGS called over HTTP that is bound or set.
    downstream: tuple[DownstreamService, ...] = ()
    outbound_timeout: float = DEFAULT_OUTBOUND_TIMEOUT
    service_name: str = SERVICE_NAME
    # Spans exported over OTLP/HTTP (telemetry.py); off unless an endpoint is set.
    trace_export: bool = False


def load_config(environ: Mapping[str, str]) -> Config:
    """Build the configuration from an environment mapping (usually `os.environ`)."""
    # uwsgi.ini takes PORT whenever it is set, even empty, so the check must too.
    port_variable = "PORT" if "PORT" in environ else "VCAP_APP_PORT"
    services = _vcap_services(environ)
    return Config(
        port=_uwsgi_integer(environ, port_variable, DEFAULT_PORT, maximum=65535),
        host=_listen_host(environ),
        log_level=_log_level(environ),
        version=_text(environ, "VERSION") or __version__,
        git_commit=_text(environ, "GIT_COMMIT"),
        max_body_bytes=_integer(
            environ, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, minimum=1, maximum=2**31
        ),
        processes=_uwsgi_integer(environ, "WEB_CONCURRENCY", DEFAULT_PROCESSES, maximum=64),
        metrics_dir=environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip() or None,
        redis_url=_redis_url(environ, services, bindings.STORE),
        downstream=_downstream_services(environ, services),
        outbound_timeout=_seconds(environ, "OUTBOUND_TIMEOUT", DEFAULT_OUTBOUND_TIMEOUT),
        trace_export=_trace_export(environ),
    )


def _integer(
    environ: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int
) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    expected = f"{name} must be an integer from {minimum} to {maximum}, got {raw!r}"
    # Plain ASCII digits only: int() would also take "8_000" or other scripts' digits.
    if not _DECIMAL_INTEGER.fullmatch(raw.strip()):
        raise ConfigError(expected)
    value = int(raw.strip())
    if not minimum <= value <= maximum:
        raise ConfigError(expected)
    return value


def _uwsgi_integer(environ: Mapping[str, str], name: str, default: int, *, maximum: int) -> int:
    """A number uwsgi.ini reads itself, so exactly as uWSGI will: its `if-env` takes an
    empty variable as set (an empty PORT binds a random port, an empty WEB_CONCURRENCY
    starts no worker), and it pastes the value in as it is, spaces included."""
    raw = environ.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ConfigError(f"{name} must be an integer from 1 to {maximum}, got {raw!r}")
    return int(raw)


def _listen_host(environ: Mapping[str, str]) -> str:
    # uWSGI reads a name with gethostbyname (IPv4 only) and a bad address with inet_addr,
    # which turns both "999.1.1.1" and a name that does not resolve into 255.255.255.255,
    # and binds that. Only address literals say exactly where it listens.
    raw = environ.get("HOST")
    if raw is None or raw == "":
        return DEFAULT_HOST  # an empty HOST makes uWSGI listen on every interface too
    if not _is_listen_address(raw):
        raise ConfigError(
            "HOST must be an IPv4 address such as 0.0.0.0 or 127.0.0.1, or an IPv6 address"
            f" in brackets such as [::] or [::1] (a hostname is not taken), got {raw!r}"
        )
    return raw


def _is_listen_address(text: str) -> bool:
    if text.startswith("[") and text.endswith("]"):
        # uWSGI takes an IPv6 address in brackets only; a zone (%eth0) it cannot read.
        return "%" not in text and _is_ip_address(text[1:-1], version=6)
    return _is_ip_address(text, version=4)


def _is_ip_address(text: str, version: int | None = None) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return version is None or address.version == version


def _is_host(text: str) -> bool:
    """An IP address, or a syntactically valid hostname; its last label is never all
    digits (RFC 1123), so "999.1.1.1" is a bad address, not a name."""
    if _is_ip_address(text):
        return True
    labels = text.removesuffix(".").split(".")
    return (
        len(text) <= 253
        and all(_HOSTNAME_LABEL.fullmatch(label) for label in labels)
        and not labels[-1].isdigit()
    )


def _log_level(environ: Mapping[str, str]) -> str:
    raw = environ.get("LOG_LEVEL", "").strip()
    if raw == "":
        return "INFO"
    level = raw.upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


def _text(environ: Mapping[str, str], name: str) -> str | None:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return None
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


def _boolean(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{name} must be true or false, got {environ[name]!r}")


def _trace_export(environ: Mapping[str, str]) -> bool:
    """On when an OTLP endpoint is set, unless the standard variables turn it off. What
    this service cannot do (another exporter, OTLP over gRPC) stops it at start-up rather
    than leaving an operator to wonder where the spans went."""
    if _boolean(environ, "OTEL_SDK_DISABLED", False):
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    if exporter not in ("", "otlp"):
        raise ConfigError(f"OTEL_TRACES_EXPORTER must be otlp or none, got {exporter!r}")
    for name in ("OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"):
        protocol = environ.get(name, "").strip()
        if protocol not in ("", "http/protobuf"):
            raise ConfigError(f"{name} must be http/protobuf, got {protocol!r}")
    endpoint_set = False
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        endpoint = environ.get(name, "").strip()
        if endpoint:
            _checked_http_url(endpoint, name)
            endpoint_set = True
    return endpoint_set


# --- URLs ------------------------------------------------------------------------------
# Each check names what it read (`what`: a variable, or a binding's credential) and
# never echoes the URL: its user information, its query, even a mistyped host part may
# be a password.


def _checked_redis_url(url: str, what: str) -> str:
    """`url` if redis-py can connect with it as it stands, else a ConfigError now rather
    than a 500 at the first request."""
    if not url.startswith(REDIS_URL_PREFIXES):
        raise ConfigError(f"{what} must start with redis://, rediss:// or unix://{_scheme(url)}")
    parts = _split(url, what)
    if parts.scheme == "unix":
        if not parts.path:
            raise ConfigError(f"{what} must give the socket's path, e.g. unix:///run/redis.sock")
    else:
        _require_host(parts.hostname, what, "redis://localhost:6379/0")
        if not _REDIS_DATABASE_PATH.fullmatch(parts.path):
            raise ConfigError(f"{what} may end in a database number such as /0, nothing else")
    if not _redis_takes_options(url):
        raise ConfigError(f"{what} has an option after '?' that redis-py cannot use")
    return url


def _redis_takes_options(url: str) -> bool:
    # Build the connection a worker would build, options and all; this opens nothing.
    # Otherwise an unknown or bad option fails every item request, not the start.
    try:
        redis.ConnectionPool.from_url(url).make_connection()
    except (redis.RedisError, TypeError, ValueError):
        return False
    return True


def _checked_http_url(url: str, what: str) -> str:
    """`url`, an http(s) base URL that paths are appended to, without its final '/'."""
    if not url.isprintable() or " " in url:
        raise ConfigError(f"{what} must be a URL without spaces or control characters")
    parts = _split(url, what)
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"{what} must be an http:// or https:// URL{_scheme(url)}")
    _require_host(parts.hostname, what, "https://pricing.example.com")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ConfigError(f"{what} must be a base URL, with no query or fragment")
    return url.rstrip("/")


def _split(url: str, what: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port that is not a number, or over 65535
    except ValueError:
        raise ConfigError(f"{what} must be a URL with a host and a port from 1 to 65535") from None
    if port == 0:
        raise ConfigError(f"{what} must be a URL with a host and a port from 1 to 65535")
    return parts


def _require_host(hostname: str | None, what: str, example: str) -> None:
    if not hostname:
        raise ConfigError(f"{what} must name a host, e.g. {example}")
    if not _is_host(hostname):
        raise ConfigError(f"{what} must name a host that is a hostname or an IP address")


def _scheme(url: str) -> str:
    # The scheme alone is safe to show: it holds no user information.
    match = _URL_SCHEME.match(url)
    return f", got {match.group()!r}" if match else ""


# --- VCAP_SERVICES ---------------------------------------------------------------------
# Cloud Foundry describes bound services in VCAP_SERVICES: a JSON object mapping each
# offering's label to a list of bindings, each with a name, tags and credentials.


@dataclass(frozen=True)
class Binding:
    """One service binding, its shape checked."""

    label: str
    name: str | None
    tags: tuple[str, ...]
    credentials: dict[str, Any]
    # How error messages name it: "VCAP_SERVICES: binding 0 of 'p-redis'".
    where: str


def _vcap_services(environ: Mapping[str, str]) -> list[Binding]:
    raw = environ.get("VCAP_SERVICES", "").strip()
    if not raw:
        return []
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        raise ConfigError("VCAP_SERVICES must be a JSON object, got invalid JSON") from None
    if not isinstance(document, dict) or not all(
        isinstance(bindings, list) for bindings in document.values()
    ):
        raise ConfigError("VCAP_SERVICES must map each service label to a list of bindings")
    return [
        _binding(label, index, entry)
        for label, entries in document.items()
        for index, entry in enumerate(entries)
    ]


def _binding(label: str, index: int, entry: Any) -> Binding:
    where = f"VCAP_SERVICES: binding {index} of {label!r}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be an object")
    label = entry.get("label", label)
    name = entry.get("name")
    tags = entry.get("tags")
    tags = [] if tags is None else tags
    credentials = entry.get("credentials")
    credentials = {} if credentials is None else credentials
    if not isinstance(label, str):
        raise ConfigError(f"{where} must have a label that is a string")
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"{where} must have a name that is a string")
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ConfigError(f"{where} must have tags that are a list of strings")
    if not isinstance(credentials, dict):
        raise ConfigError(f"{where} must have credentials that are an object")
    return Binding(label, name, tuple(tags), credentials, where)


def _redis_url(
    environ: Mapping[str, str], services: list[Binding], store: bindings.Binding
) -> str | None:
    # The variable is checked even when a binding wins over it: a bad value is never right.
    raw = environ.get(store.variable, "").strip()
    local = _checked_redis_url(raw, store.variable) if raw else None
    for binding in services:
        tags = [tag.lower() for tag in binding.tags]
        if "redis" in binding.label.lower() or "redis" in tags:
            return _redis_url_from_credentials(binding)
    return local


def _redis_url_from_credentials(binding: Binding) -> str:
    # Brokers give either a URI or its parts; both spellings of the host are common.
    credentials = binding.credentials
    for key in ("uri", "url"):
        uri = credentials.get(key)
        if isinstance(uri, str) and uri.lower().startswith(REDIS_URL_PREFIXES):
            return _checked_redis_url(uri, f"{binding.where}: credentials.{key}")
    host = credentials.get("host") or credentials.get("hostname")
    port = credentials.get("port")
    if host is None or port is None:
        raise ConfigError(
            f"{binding.where}: a redis binding needs credentials with a uri, or a host and port"
        )
    if not isinstance(host, str) or not _is_host(host):
        raise ConfigError(f"{binding.where}: credentials.host must be a hostname or IP address")
    password = credentials.get("password") or ""
    if not isinstance(password, str):
        raise ConfigError(f"{binding.where}: credentials.password must be a string")
    auth = f":{quote(password, safe='')}@" if password else ""
    if _is_ip_address(host, version=6):
        host = f"[{host}]"
    url = f"redis://{auth}{host}:{_binding_port(port, binding.where)}/0"
    return _checked_redis_url(url, f"{binding.where}: credentials")


def _binding_port(port: Any, where: str) -> int:
    # A JSON number or a string of digits; never true/false (a bool is an int in Python).
    if isinstance(port, str) and port.isascii() and port.isdigit():
        port = int(port)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(f"{where}: credentials.port must be an integer from 1 to 65535")
    return port


def _downstream_services(
    environ: Mapping[str, str], services: list[Binding]
) -> tuple[DownstreamService, ...]:
    found = [
        _downstream(environ, services, binding)
        for binding in bindings.BINDINGS
        if binding.kind == bindings.HTTP
    ]
    return tuple(service for service in found if service is not None)


def _downstream(
    environ: Mapping[str, str], services: list[Binding], declared: bindings.Binding
) -> DownstreamService | None:
    """The service `declared`: a user-provided binding of its name, else its variable.

    Its variables are checked even when a binding wins over them."""
    raw = environ.get(declared.variable, "").strip()
    url = _checked_http_url(raw, declared.variable) if raw else None
    critical = _boolean(environ, declared.critical_variable, declared.critical)
    for binding in services:
        if binding.name == declared.name:
            return _downstream_from_credentials(binding, declared)
    if url is None:
        return None
    return DownstreamService(name=declared.name, url=url, critical=critical)


def _downstream_from_credentials(binding: Binding, declared: bindings.Binding) -> DownstreamService:
    credentials = binding.credentials
    url = credentials.get("url")
    if not isinstance(url, str):
        raise ConfigError(f"{binding.where}: credentials.url must be an http(s) URL")
    critical = credentials.get("critical", declared.critical)
    if not isinstance(critical, bool):
        raise ConfigError(f"{binding.where}: credentials.critical must be true or false")
    health_path = credentials.get("health_path") or "/health/live"
    if not isinstance(health_path, str) or not _is_path(health_path):
        raise ConfigError(
            f"{binding.where}: credentials.health_path must be a path starting with '/'"
        )
    return DownstreamService(
        name=declared.name,
        url=_checked_http_url(url, f"{binding.where}: credentials.url"),
        critical=critical,
        health_path=health_path,
    )


def _is_path(text: str) -> bool:
    return text.startswith("/") and text.isprintable() and " " not in text
