"""Load at a fixed rate, for latency: benchmark/constant_rate.py, run for a contender.

wrk's latencies hide queueing (coordinated omission), so latency is measured again at a
fixed rate below saturation, from each request's intended send time.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from benchmark.contenders import REPO
from benchmark.load import WRK_TIMEOUT, Endpoint, Shape, percentiles_ms, run_tool


def constant_rate_argv(
    url: str, endpoint: Endpoint, shape: Shape, seconds: float, rate: float
) -> list[str]:
    argv = [
        "taskset", "-c", shape.client_cpus, sys.executable, "-m", "benchmark.constant_rate",
        "--url", url, "--rate", f"{rate:g}", "--connections", str(shape.connections),
        "--duration", f"{seconds:g}", "--timeout", WRK_TIMEOUT.rstrip("s"),
    ]  # fmt: skip
    if endpoint.body_file is not None:
        argv += ["--body-file", str(endpoint.body_file.relative_to(REPO))]
    return argv


def run_constant_rate(
    url: str, endpoint: Endpoint, shape: Shape, seconds: float, rate: float
) -> dict[str, Any]:
    """benchmark/constant_rate.py at `rate` requests per second for `seconds`."""
    argv = constant_rate_argv(url, endpoint, shape, seconds, rate)
    output, cpu_seconds = run_tool(argv, seconds, {})
    raw = json.loads(output)
    attempts = raw["completed"] + sum(raw["errors"].values())
    return {
        "rate": rate,
        "achieved_rate": raw["achieved_rate"],
        "failed": raw["failed"],
        "attempts": attempts,
        "failed_pct": 100 * raw["failed"] / attempts if attempts else 0.0,
        "mean_ms": raw["latency_us"]["mean"] / 1000,
        **percentiles_ms(raw["latency_us"]),
        "generator_lag_p99_ms": raw["generator_lag_us"]["p99"] / 1000,
        "raw": raw,
        "client_cpu_s": cpu_seconds,
    }
