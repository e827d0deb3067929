"""The entry module a WSGI server imports: builds the app from os.environ at import time,
or stops with exit status 78 (EX_CONFIG) and one line on stderr naming the bad variable.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
import types

import falcon
import falcon.testing
import pytest

from example_app import drain, logs

MODULE = "example_app.wsgi"


def forget_wsgi_module() -> None:
    sys.modules.pop(MODULE, None)
    package = sys.modules.get("example_app")
    if package is not None and hasattr(package, "wsgi"):
        delattr(package, "wsgi")


@pytest.fixture
def import_wsgi(clean_environ, restore_root_logger, monkeypatch):
    """Import example_app.wsgi afresh, so its import-time build sees this test's environment.

    The environment starts without the configuration's variables, and the root logger,
    which building the app reconfigures, is put back afterwards. The app's buffered
    access lines are flushed at the end, so that none reaches a later test's output.
    """
    real_buffered_stdout_lines = logs.buffered_stdout_lines
    made = []

    def buffered_stdout_lines():
        made.append(real_buffered_stdout_lines())
        return made[-1]

    monkeypatch.setattr(logs, "buffered_stdout_lines", buffered_stdout_lines)
    forget_wsgi_module()
    yield lambda: importlib.import_module(MODULE)
    forget_wsgi_module()
    for lines in made:
        lines.flush()


BAD_VALUES = [
    ("PORT", "http"),
    ("VCAP_APP_PORT", "0"),
    ("LOG_LEVEL", "chatty"),
    ("VERSION", "x" * 101),
    ("MAX_BODY_BYTES", "-1"),
    ("WEB_CONCURRENCY", "100"),
]


def test_import_with_a_good_environment_builds_an_app(import_wsgi):
    wsgi = import_wsgi()

    assert isinstance(wsgi.app, falcon.App)
    assert falcon.testing.TestClient(wsgi.app).simulate_get("/").text == "Hello world\n"


def test_under_uwsgi_the_sigterm_drain_is_registered(import_wsgi, monkeypatch):
    registered = []
    uwsgi = types.SimpleNamespace(
        opt={"master-fifo": b"/tmp/example-app-8000.fifo"},
        sockets=[],
        register_signal=lambda number, target, handler: registered.append((number, target)),
    )
    monkeypatch.setitem(sys.modules, "uwsgi", uwsgi)

    import_wsgi()

    assert registered == [(drain.ROUTED_SIGTERM, "worker")]


def test_built_app_is_configured_from_the_environment(import_wsgi, clean_environ):
    clean_environ.setenv("VERSION", "9.8.7")
    clean_environ.setenv("GIT_COMMIT", "cafe123")

    wsgi = import_wsgi()

    info = falcon.testing.TestClient(wsgi.app).simulate_get("/info").json
    assert (info["version"], info["git_commit"]) == ("9.8.7", "cafe123")


def test_build_app_returns_a_fresh_app_each_call(import_wsgi):
    wsgi = import_wsgi()

    assert wsgi.build_app() is not wsgi.app


def test_build_app_sets_the_root_log_level_from_log_level(import_wsgi, clean_environ):
    clean_environ.setenv("LOG_LEVEL", "warning")

    import_wsgi()

    assert logging.getLogger().level == logging.WARNING


def test_build_app_logs_a_json_starting_line_on_stdout(import_wsgi, clean_environ, capfd):
    clean_environ.setenv("VERSION", "1.2.3")
    clean_environ.setenv("PORT", "8123")
    clean_environ.setenv("WEB_CONCURRENCY", "3")

    import_wsgi()

    entries = [json.loads(line) for line in capfd.readouterr().out.splitlines()]
    [entry] = [entry for entry in entries if entry["message"] == "starting"]
    assert entry["logger"] == MODULE
    assert (entry["version"], entry["port"], entry["processes"]) == ("1.2.3", 8123, 3)


@pytest.mark.parametrize(("variable", "raw"), BAD_VALUES)
def test_import_with_a_bad_variable_exits_78_printing_one_line_naming_it(
    import_wsgi, clean_environ, capfd, variable, raw
):
    clean_environ.setenv(variable, raw)

    with pytest.raises(SystemExit) as exit_info:
        import_wsgi()

    assert exit_info.value.code == 78
    captured = capfd.readouterr()
    [line] = captured.err.splitlines()
    assert line.startswith(f"example-app: configuration error: {variable} must be ")
    assert captured.out == ""
    # No traceback, printed or chained.
    assert "Traceback" not in captured.err
    assert exit_info.value.__cause__ is None
    assert exit_info.value.__suppress_context__ is True


def test_build_app_with_a_bad_variable_exits_with_status_78(import_wsgi, clean_environ, capfd):
    wsgi = import_wsgi()
    capfd.readouterr()
    clean_environ.setenv("MAX_BODY_BYTES", "lots")

    with pytest.raises(SystemExit) as exit_info:
        wsgi.build_app()

    assert exit_info.value.code == 78
    assert capfd.readouterr().err == (
        "example-app: configuration error: "
        "MAX_BODY_BYTES must be an integer from 1 to 2147483648, got 'lots'\n"
    )
