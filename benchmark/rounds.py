"""Warm-up to a steady state, interleaved measuring rounds, and what the rounds say.

The machine is shared and drifts (other programs, CPU frequency, the JVM's JIT), so one
long window per contender, one contender after the other, would measure the machine's
mood as much as the servers. Instead every contender gets a short window in every
round, in an order rotated from round to round, and the report gives the median of its
rounds and their spread: a difference smaller than the spread is not a difference.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def rotated(items: Sequence[T], round_index: int) -> list[T]:
    """The round's order: each round starts one contender later, so none is always
    measured first (right after a long idle time) or right after the same neighbour."""
    if not items:
        return []
    shift = round_index % len(items)
    return [*items[shift:], *items[:shift]]


def spread_pct(values: Sequence[float]) -> float:
    """How far apart the largest and smallest of some rates are, in % of the largest."""
    largest = max(values)
    return 100 * (largest - min(values)) / largest if largest else 0.0


def warm_up(
    window: Callable[[], dict[str, Any]],
    window_s: float,
    cap_s: float,
    steady: tuple[int, float],
) -> dict[str, Any]:
    """Windows of load until the last `count` agree within `pct` (steady = (count, pct)),
    or until the next would go past `cap_s`; at least one window whatever the cap.
    `window()` runs one and returns its figures.

    The windows must agree in req/s and in the server's CPU time per request. On a
    shared machine req/s moves with other programs' load; CPU time per request follows
    the server itself. Three windows, not two: a short plateau is then less likely to
    pass for the end.
    template-only: begin
    A JIT improves in steps: a run showed Spring two windows apart at 138 µs per
    request, then at 53 µs minutes later, hence its own, longer rule (plan.py).
    template-only: end
    """
    count, pct = steady
    windows: list[dict[str, Any]] = []
    while True:
        windows.append(window())
        rates = [w["rps"] for w in windows]
        costs = [w["cpu"]["server_cpu_us_per_request"] for w in windows]
        spreads = {"rps": spread_pct(rates[-count:]), "cpu": spread_pct(costs[-count:])}
        is_steady = len(windows) >= count and max(spreads.values()) <= pct
        if is_steady or (len(windows) + 1) * window_s > cap_s + 1e-9:
            break
    return {
        "window_s": window_s,
        "rps": [round(r, 1) for r in rates],
        "server_cpu_us_per_request": [round(c, 1) for c in costs],
        "failed": [w["failed"] for w in windows],
        "seconds": len(windows) * window_s,
        "steady": is_steady,
        # The spread of the last windows (up to `count` of them), in %.
        "last_spread_pct": spreads,
        "steady_windows": count,
    }


def summarize(windows: list[dict[str, Any]]) -> dict[str, Any]:
    """A contender's rounds on one endpoint: medians, the req/s spread, failures summed."""
    rates = [w["rps"] for w in windows]
    median = statistics.median(rates)
    attempts = sum(w["attempts"] for w in windows)
    failed = sum(w["failed"] for w in windows)

    def med(name: str) -> float:
        return float(statistics.median(w[name] for w in windows))

    def med_cpu(name: str) -> float:
        return float(statistics.median(w["cpu"][name] for w in windows))

    summary: dict[str, Any] = {
        "rounds": len(windows),
        "rps_median": median,
        "rps_min": min(rates),
        "rps_max": max(rates),
        # The spread of the rounds, in % of the median: how sure the median is.
        "rps_spread_pct": 100 * (max(rates) - min(rates)) / median if median else 0.0,
        "p50_ms": med("p50_ms"),
        "p99_ms": med("p99_ms"),
        "mean_ms": med("mean_ms"),
        "failed": failed,
        "attempts": attempts,
        "failed_pct": 100 * failed / attempts if attempts else 0.0,
        "cpu": {
            name: med_cpu(name)
            for name in (
                "server_cpu_us_per_request",
                "server_cpus_busy_pct",
                "server_tree_pct",
                "client_cpus_busy_pct",
                "load_generator_pct",
            )
        },
    }
    # template-only: begin
    held = [w["idle_connections_held"] for w in windows if "idle_connections_held" in w]
    summary["idle_connections_held_min"] = min(held) if held else None
    # template-only: end
    return summary


def paired_ratios(mine: list[float], theirs: list[float]) -> dict[str, float] | None:
    """Round by round ratios of two contenders' req/s (windows of the same round ran
    next to each other, so drift of the machine mostly cancels out): median and range."""
    if not mine or len(mine) != len(theirs):
        return None
    ratios = [a / b for a, b in zip(mine, theirs, strict=True) if b]
    if not ratios:
        return None
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}
