"""The module a WSGI server imports: `uwsgi --ini uwsgi.ini` loads `example_app.wsgi:app`.

The only module with work at import time, because serving it is its whole purpose.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import falcon

from example_app import drain
from example_app.app import create_app
from example_app.config import Config, ConfigError, load_config
from example_app.logs import buffered_stdout_lines, configure_logging, stdout_lines

log = logging.getLogger(__name__)


def load_config_or_exit() -> Config:
    try:
        return load_config(os.environ)
    except ConfigError as error:
        # One line the operator can act on, instead of a traceback from the server.
        print(f"example-app: configuration error: {error}", file=sys.stderr, flush=True)
        raise SystemExit(78) from None  # EX_CONFIG


def build_app() -> falcon.App[Any, Any]:
    config = load_config_or_exit()
    configure_logging(config.log_level, stdout_lines())
    log.info(
        "starting",
        extra={"version": config.version, "port": config.port, "processes": config.processes},
    )
    app = create_app(config, access_lines=buffered_stdout_lines())
    uwsgi = sys.modules.get("uwsgi")  # there only when uWSGI runs this process
    if uwsgi is not None:
        drain.register(uwsgi)
    return app


app = build_app()
