"""The load, on the client CPU set: wrk at full speed, and CPU time from /proc/stat.

wrk (closed loop: each connection sends its next request when the last answer is in)
measures throughput.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.contenders import REPO

WRK_SCRIPT = REPO / "benchmark" / "wrk_report.lua"
WRK_TIMEOUT = "2s"  # a request unanswered this long is a failure


@dataclass(frozen=True)
class Endpoint:
    name: str  # as in the tables: "GET /"
    body_file: Path | None  # POST this file as application/json; None: GET


@dataclass(frozen=True)
class Shape:
    """What every contender gets alike."""

    client_cpus: str
    connections: int


def wrk_argv(url: str, shape: Shape, seconds: float) -> list[str]:
    # One wrk thread: the load generator has one CPU.
    return [
        "taskset", "-c", shape.client_cpus, "wrk",
        "--threads", "1", "--connections", str(shape.connections),
        "--duration", f"{seconds:g}s", "--timeout", WRK_TIMEOUT,
        "--script", str(WRK_SCRIPT.relative_to(REPO)), url,
    ]  # fmt: skip


def run_wrk(url: str, endpoint: Endpoint, shape: Shape, seconds: float) -> dict[str, Any]:
    """wrk for `seconds`; the talk's columns from its results."""
    env = {"BENCH_BODY_FILE": str(endpoint.body_file or "")}
    output, cpu_seconds = run_tool(wrk_argv(url, shape, seconds), seconds, env)
    marker = "BENCH_JSON "
    lines = [line for line in output.splitlines() if line.startswith(marker)]
    if not lines:
        raise RuntimeError(f"wrk printed no results:\n{output}")
    raw = json.loads(lines[-1][len(marker) :])
    return {**_wrk_metrics(raw), "client_cpu_s": cpu_seconds}


def _wrk_metrics(raw: dict[str, Any]) -> dict[str, Any]:
    errors = raw["errors"]
    # A socket error is a request that got no answer: the connection failed, was closed
    # or reset under it, or it timed out. "status" counts answers of 400 and over.
    lost = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    attempts = raw["requests"] + lost
    failed = lost + errors["status"]
    latency = raw["latency_us"]
    return {
        "requests": raw["requests"],
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "failed": failed,
        "attempts": attempts,
        "failed_pct": 100 * failed / attempts if attempts else 0.0,
        "errors": errors,
        "mean_ms": latency["mean"] / 1000,
        **percentiles_ms(latency),
        "raw": raw,
    }


def percentiles_ms(latency_us: dict[str, Any]) -> dict[str, float]:
    p = latency_us["percentiles"]
    return {
        "p50_ms": p["50"] / 1000,
        "p75_ms": p["75"] / 1000,
        "p95_ms": p["95"] / 1000,
        "p99_ms": p["99"] / 1000,
        "max_ms": latency_us["max"] / 1000,
    }


def run_tool(argv: list[str], seconds: float, env: dict[str, str]) -> tuple[str, float]:
    """The command's stdout, and the CPU seconds it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    completed = subprocess.run(
        argv,
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=seconds + 60,  # bounded even if the generator hangs
        check=False,
    )
    if completed.returncode != 0:
        stderr = completed.stderr.strip()[-2000:]
        raise RuntimeError(f"{' '.join(argv[3:6])} failed ({completed.returncode}): {stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return completed.stdout, cpu


def cpu_ticks() -> dict[int, tuple[int, int]]:
    """Per CPU: (busy, total) jiffies from /proc/stat."""
    ticks = {}
    with open("/proc/stat") as stat:
        for line in stat:
            name, *fields = line.split()
            if name.startswith("cpu") and name != "cpu":
                values = [int(v) for v in fields]
                idle = values[3] + values[4]  # idle + iowait
                ticks[int(name[3:])] = (sum(values[:8]) - idle, sum(values[:8]))
    return ticks


def busy_pct(
    before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]], cpus: set[int]
) -> float:
    busy = sum(after[c][0] - before[c][0] for c in cpus)
    total = sum(after[c][1] - before[c][1] for c in cpus)
    return 100 * busy / total if total else 0.0
