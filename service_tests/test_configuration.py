"""A bad setting stops start-up at once, with one line that names the variable."""

from __future__ import annotations

import json
import time

import pytest

from local_platform.processes import LOOPBACK
from service_tests.conftest import AppFactory

CONFIG_ERROR_PREFIX = "example-app: configuration error: "


@pytest.mark.parametrize(("variable", "value"), [("LOG_LEVEL", "LOUD"), ("MAX_BODY_BYTES", "-1")])
def test_bad_setting_exits_non_zero_with_one_line_naming_it(
    start_app: AppFactory, variable: str, value: str
) -> None:
    started = time.monotonic()
    app = start_app(wait_ready=False, **{variable: value})

    status = app.wait_exit(timeout=10)

    assert status is not None, "the app kept running with a bad setting"
    assert status != 0
    assert time.monotonic() - started < 10
    stderr = app.stderr_text()
    errors = [line for line in stderr.splitlines() if line.startswith(CONFIG_ERROR_PREFIX)]
    assert len(errors) == 1, stderr
    assert errors[0].startswith(f"{CONFIG_ERROR_PREFIX}{variable} ")
    assert errors[0].endswith(f"got {value!r}")
    assert "Traceback" not in stderr
    assert "uWSGI" in stderr  # the line sits among uWSGI's own start-up messages


SECRET = "s3cret-pw"


def _redis_binding(**binding: object) -> str:
    return json.dumps({"redis": [{"name": "example-app-redis", **binding}]})


# Values that once crashed with a traceback, started on the wrong address, started with a
# silent default, or echoed a password; each now stops the start.
REFUSED_AT_START = [
    pytest.param("VCAP_SERVICES", _redis_binding(tags=5), id="binding-tags-5"),
    pytest.param(
        "VCAP_SERVICES",
        _redis_binding(credentials={"host": LOOPBACK, "port": 99999, "password": SECRET}),
        id="binding-port-99999",
    ),
    pytest.param("REDIS_URL", f"redis://:{SECRET}@{LOOPBACK}:notaport/0", id="port-notaport"),
    pytest.param("REDIS_URL", f"http://:{SECRET}@{LOOPBACK}:6379/0", id="scheme-http"),
    pytest.param("REDIS_URL", "redis://", id="no-host"),
    pytest.param("HOST", "999.1.1.1", id="host-999.1.1.1"),
    pytest.param("WEB_CONCURRENCY", "", id="web-concurrency-empty"),
]


@pytest.mark.parametrize(("variable", "value"), REFUSED_AT_START)
def test_bad_setting_exits_78_with_one_line_naming_it_no_traceback_no_secret(
    start_app: AppFactory, variable: str, value: str
) -> None:
    overrides: dict[str, str | None] = {variable: value}
    if variable == "REDIS_URL":
        overrides["VCAP_SERVICES"] = None  # REDIS_URL is the way when nothing is bound
    app = start_app(wait_ready=False, **overrides)

    status = app.wait_exit(timeout=10)

    assert status == 78, app.stderr_text()  # EX_CONFIG
    stderr = app.stderr_text()
    naming = [line for line in stderr.splitlines() if variable in line]
    assert len(naming) == 1, stderr
    assert naming[0].startswith(f"{CONFIG_ERROR_PREFIX}{variable}")
    output = app.stdout_text() + stderr
    assert "Traceback" not in output
    assert SECRET not in output
