"""`GET /info`: what is running here, for people and deployment checks."""

from __future__ import annotations

import platform

import falcon

from example_app.config import Config


class InfoResource:
    def __init__(self, config: Config, store_backend: str) -> None:
        # Computed once: none of it changes while the process lives.
        self._info = {
            "name": config.service_name,
            "version": config.version,
            "git_commit": config.git_commit,
            "python": platform.python_version(),
            "falcon": falcon.__version__,
            "store": store_backend,
            "trace_export": config.trace_export,
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self._info
