"""The application factory: builds the Falcon app from a Config and wires its parts.

It only wires; each part lives in its own module. Tests build an app per test with the
config and collaborators they need; `example_app.wsgi` builds the one a server runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import falcon

from example_app.bindings import PRICING
from example_app.clients import DownstreamClient, DownstreamError, ServiceClient
from example_app.config import Config
from example_app.docs import add_api_docs
from example_app.errors import (
    handle_downstream_error,
    handle_store_unavailable,
    handle_unexpected_error,
    serialize_error,
)
from example_app.framing import GuardedApp
from example_app.health import (
    DownstreamCheck,
    HealthCheck,
    LivenessResource,
    ReadinessResource,
    StoreCheck,
)
from example_app.info import InfoResource
from example_app.json_body import JSON_HANDLER
from example_app.logs import JsonLines, stdout_lines
from example_app.metrics import Metrics, MetricsResource
from example_app.middleware import RequestMiddleware
from example_app.redis_store import RedisItemStore
from example_app.resources import (
    HelloResource,
    ItemCollectionResource,
    ItemPriceResource,
    ItemResource,
)
from example_app.storage import ItemStore, MemoryItemStore, StoreUnavailable
from example_app.tracing import TraceContext, Tracing

log = logging.getLogger(__name__)


def create_app(
    config: Config,
    store: ItemStore | None = None,
    clients: Mapping[str, DownstreamClient] | None = None,
    health_checks: Sequence[HealthCheck] = (),
    access_lines: JsonLines | None = None,
) -> falcon.App[Any, Any]:
    """Build the app. `store`, `clients` (by binding name) and `health_checks` let tests
    supply their own; readiness runs the store's check, the critical downstream services'
    and `health_checks`. Access log lines go to `access_lines`, stdout unless given."""
    if store is None:
        store = _create_item_store(config)
    tracing = _create_tracing(config)
    if clients is None:
        clients = _create_clients(config, tracing)
    checks: list[HealthCheck] = [StoreCheck(store), *health_checks]
    checks += [DownstreamCheck(client) for client in clients.values() if client.service.critical]
    metrics = Metrics(directory=config.metrics_dir)
    access_log = logging.getLevelNamesMapping()[config.log_level] <= logging.INFO

    app = GuardedApp(
        middleware=RequestMiddleware(
            metrics, access_lines or stdout_lines(), access_log, tracing=tracing
        )
    )
    app.req_options.media_handlers[falcon.MEDIA_JSON] = JSON_HANDLER
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = JSON_HANDLER
    app.set_error_serializer(serialize_error)
    app.add_error_handler(Exception, handle_unexpected_error)
    app.add_error_handler(StoreUnavailable, handle_store_unavailable)
    app.add_error_handler(DownstreamError, handle_downstream_error)

    app.add_route("/", HelloResource(max_body_bytes=config.max_body_bytes))
    app.add_route("/items", ItemCollectionResource(store))
    app.add_route("/items/{key}", ItemResource(store, max_body_bytes=config.max_body_bytes))
    app.add_route("/items/{key}/price", ItemPriceResource(store, clients.get(PRICING.name)))
    app.add_route("/health/live", LivenessResource())
    app.add_route("/health/ready", ReadinessResource(checks))
    app.add_route("/info", InfoResource(config, store_backend=store.backend))
    app.add_route("/metrics", MetricsResource(metrics))
    add_api_docs(app)
    return app


def _create_tracing(config: Config) -> Tracing:
    if not config.trace_export:
        return TraceContext()
    # Imported only now: with export off, nothing of the span export is loaded.
    from example_app.telemetry import OpenTelemetryTracing  # noqa: PLC0415

    return OpenTelemetryTracing(config)


def _create_clients(config: Config, tracing: Tracing) -> dict[str, DownstreamClient]:
    return {
        service.name: ServiceClient(service, config.outbound_timeout, tracing)
        for service in config.downstream
    }


def _create_item_store(config: Config) -> ItemStore:
    if config.redis_url is None:
        log.warning(
            "no Redis bound: items are kept in memory, per worker, and lost on restart",
            extra={"store": "memory"},
        )
        return MemoryItemStore()
    return RedisItemStore.from_url(config.redis_url, namespace=config.service_name)
