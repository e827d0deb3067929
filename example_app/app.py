"""The application factory: builds the Falcon app from a Config and wires its parts.

It only wires; each part lives in its own module. Tests build an app per test with the
config and collaborators they need; `example_app.wsgi` builds the one a server runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import falcon

from example_app.config import Config
from example_app.errors import handle_unexpected_error, serialize_error
from example_app.health import HealthCheck, LivenessResource, ReadinessResource
from example_app.info import InfoResource
from example_app.metrics import Metrics, MetricsMiddleware, MetricsResource
from example_app.middleware import AccessLogMiddleware, RequestContextMiddleware
from example_app.resources import HelloResource


def create_app(config: Config, health_checks: Sequence[HealthCheck] = ()) -> falcon.App[Any, Any]:
    metrics = Metrics(multiprocess_dir=config.metrics_dir)
    app = falcon.App()
    # In this order: the request context gives the others their request id and start time.
    app.add_middleware(RequestContextMiddleware())
    app.add_middleware(AccessLogMiddleware())
    app.add_middleware(MetricsMiddleware(metrics))
    app.set_error_serializer(serialize_error)
    app.add_error_handler(Exception, handle_unexpected_error)

    app.add_route("/", HelloResource(max_body_bytes=config.max_body_bytes))
    app.add_route("/health/live", LivenessResource())
    app.add_route("/health/ready", ReadinessResource(health_checks))
    app.add_route("/info", InfoResource(config))
    app.add_route("/metrics", MetricsResource(metrics))
    return app
