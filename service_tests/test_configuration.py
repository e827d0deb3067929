"""A bad setting stops start-up at once, with one line that names the variable."""

from __future__ import annotations

import time

import pytest

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
