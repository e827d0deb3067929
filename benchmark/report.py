"""The run's outputs: Markdown tables, and the JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmark.rounds import paired_ratios

ENDPOINTS = ("GET /", "POST /")
SHIPPED, BARE = "falcon-uwsgi", "falcon-bare"

# The targets for the shipped service: reported, never asserted.
TARGET_VS_BARE = 0.75  # x bare Falcon's req/s: what the middleware may cost at most
TARGET_RSS_MIB = 128.0  # the manifest's memory limit, whole process tree
TARGET_READY_S = 1.5
# template-only: begin
SPRING = "spring"
TARGET_VS_SPRING = 1.0  # x warmed Spring's req/s
TARGET_P99_MS = 1.0  # at the fixed rate
GOROUTER_IDLE_S = 90  # how long gorouter keeps (and may reuse) an idle backend connection
# template-only: end


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


# The columns of text, left-aligned; the others are numbers.
_LEFT = {"contender", "endpoint", "ratio", "target (shipped service)", "steady"}
_LEFT |= {"req/s per window", "server CPU µs/req per window"}
# template-only: begin
_LEFT |= {"keep-alive (observed)", "idle connections (gorouter-like pool)"}
# template-only: end


def _table(header: list[str], rows: list[list[str]]) -> str:
    align = ["---" if name in _LEFT else "---:" for name in header]
    return "\n".join([_row(header), _row(align), *(_row(r) for r in rows)])


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def measured(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in run["contenders"] if c.get("ok")]


def _by_key(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["key"]: c for c in measured(run)}


def summary(contender: dict[str, Any], endpoint: str) -> dict[str, Any]:
    summary: dict[str, Any] = contender["endpoints"][endpoint]["summary"]
    return summary


def _round_rates(contender: dict[str, Any], endpoint: str) -> list[float]:
    return [w["rps"] for w in contender["endpoints"][endpoint]["rounds"]]


def ratio(run: dict[str, Any], key: str, other: str, endpoint: str) -> dict[str, float] | None:
    """`key`'s median req/s over `other`'s, and the range of the round-by-round ratios."""
    by_key = _by_key(run)
    if key not in by_key or other not in by_key:
        return None
    mine, theirs = by_key[key], by_key[other]
    paired = paired_ratios(_round_rates(mine, endpoint), _round_rates(theirs, endpoint))
    median_ratio = summary(mine, endpoint)["rps_median"] / summary(theirs, endpoint)["rps_median"]
    result = {"ratio": median_ratio}
    if paired:
        result |= {"rounds_min": paired["min"], "rounds_max": paired["max"]}
    return result


def _ratio_text(r: dict[str, float] | None, rounds: bool = True) -> str:
    if r is None:
        return "-"
    text = f"{r['ratio']:.2f}x"
    if rounds and "rounds_min" in r and r["rounds_min"] != r["rounds_max"]:
        text += f" ({r['rounds_min']:.2f}-{r['rounds_max']:.2f})"
    return text


def baselines(run: dict[str, Any]) -> list[tuple[str, str, float]]:
    """What the shipped service is compared with, of the run's contenders."""
    keys = {c["key"] for c in run["contenders"]}
    known = [(BARE, "bare Falcon", TARGET_VS_BARE)]
    # template-only: begin
    known.append((SPRING, "warmed Spring", TARGET_VS_SPRING))
    # template-only: end
    return [baseline for baseline in known if baseline[0] in keys]


def headline(run: dict[str, Any]) -> str:
    """The ratios the issue asks about, on each endpoint."""
    rows = []
    for other, name, target in baselines(run):
        cells = [f"shipped / {name} (target >= {target:g}x)"]
        cells += [_ratio_text(ratio(run, SHIPPED, other, e)) for e in ENDPOINTS]
        rows.append(cells)
    header = ["ratio", *(f"`{e}`" for e in ENDPOINTS)]
    note = (
        "Median req/s over median req/s; in brackets the range of the same ratio round by "
        "round (windows of one round ran next to each other)."
    )
    return _table(header, rows) + "\n\n" + note


def throughput_table(run: dict[str, Any], endpoint: str) -> str:
    """One row per contender: the median of its rounds and how far the rounds spread."""
    others = baselines(run)
    header = ["contender", "req/s (median)", "min-max", "spread %"]
    header += [f"/ {key.removeprefix('falcon-')}" for key, _, _ in others]
    header += ["p50 ms", "p99 ms", "mean ms", "failed %", "server CPU µs/req"]
    # template-only: begin
    header.append("idle conns held")
    # template-only: end
    rows = []
    for c in measured(run):
        s = summary(c, endpoint)
        row = [c["label"], f"{s['rps_median']:.0f}", f"{s['rps_min']:.0f}-{s['rps_max']:.0f}",
               f"{s['rps_spread_pct']:.1f}",
               *(_ratio_text(ratio(run, c["key"], key, endpoint), rounds=False)
                 for key, _, _ in others),
               _ms(s["p50_ms"]), _ms(s["p99_ms"]), _ms(s["mean_ms"]), _failed(s),
               f"{s['cpu']['server_cpu_us_per_request']:.0f}"]  # fmt: skip
        # template-only: begin
        held = s["idle_connections_held_min"]
        row.append("-" if held is None else str(held))
        # template-only: end
        rows.append(row)
    return _table(header, rows)


def _failed(figures: dict[str, Any]) -> str:
    if not figures["failed"]:
        return "0"
    return f"{figures['failed_pct']:.2f} ({figures['failed']})"


def warmup_table(run: dict[str, Any]) -> str:
    header = ["contender", "endpoint", "steady", "seconds", "req/s per window"]
    header += ["server CPU µs/req per window"]
    rows = []
    for c in measured(run):
        for name in ENDPOINTS:
            w = c["endpoints"][name]["warmup"]
            spread = w["last_spread_pct"]
            last = f"last {min(len(w['rps']), w['steady_windows'])}"
            apart = f"{last} {spread['rps']:.1f}% apart in req/s, {spread['cpu']:.1f}% in CPU"
            steady = f"yes: {apart}" if w["steady"] else f"**no**, cap reached: {apart}"
            rates = ", ".join(f"{r:.0f}" for r in w["rps"])
            failed = sum(w["failed"])
            costs = ", ".join(f"{r:.0f}" for r in w["server_cpu_us_per_request"])
            rows.append(
                [c["label"], f"`{name}`", steady, f"{w['seconds']:g}",
                 rates + (f" ({failed} failed)" if failed else ""), costs]
            )  # fmt: skip
    return _table(header, rows)


def process_table(run: dict[str, Any]) -> str:
    header = ["contender", "peak RSS MiB", "peak PSS MiB", "processes", "start to first 200 ms"]
    # template-only: begin
    header += ["keep-alive (observed)", "idle connections (gorouter-like pool)"]
    # template-only: end
    rows = []
    for c in measured(run):
        row = [c["label"], f"{c['peak_rss_mib']:.0f}", f"{c['peak_pss_mib']:.0f}",
               str(c["processes"]), f"{c['ready_ms']:.0f}"]  # fmt: skip
        # template-only: begin
        row += [c["keep_alive_observed"], _idle_text(c["idle_pool"])]
        # template-only: end
        rows.append(row)
    return _table(header, rows)


# template-only: begin
def fixed_rate_table(run: dict[str, Any]) -> str:
    header = ["contender", "endpoint", "rate req/s", "mean ms", "failed %"]
    header += ["p50 ms", "p75 ms", "p95 ms", "p99 ms", "max ms"]
    rows = []
    for c in measured(run):
        for name in ENDPOINTS:
            f = c["endpoints"][name]["fixed_rate"]
            rows.append(
                [c["label"], f"`{name}`", f"{f['achieved_rate']:.0f}", _ms(f["mean_ms"]),
                 _failed(f)]
                + [_ms(f[k]) for k in ("p50_ms", "p75_ms", "p95_ms", "p99_ms", "max_ms")]
            )  # fmt: skip
    return _table(header, rows)


def _idle_text(pool: dict[str, Any] | None) -> str:
    if pool is None:
        return "none held (--idle-connections 0)"
    kept, wanted = pool["kept_at_start"], pool["wanted"]
    if not kept:
        why = []
        if pool["refused_with_connection_close"]:
            why.append("Connection: close")
        if pool["closed_right_after_answer"]:
            why.append("closed after each answer")
        if pool["failed"]:
            why.append(f"{pool['failed']} failed")
        return f"0 of {wanted} kept ({', '.join(why)})"
    text = f"{kept} of {wanted} kept, {pool['held_at_end']} at the end"
    lifetime = pool["idle_lifetime_s"]
    if lifetime:
        text += (
            f"; the server closed {pool['closed_by_server_later']} idle ones after "
            f"{lifetime['median']:.0f} s (median; re-opened)"
        )
        if lifetime["median"] < GOROUTER_IDLE_S:
            # gorouter may reuse an idle connection for 90 s: one the server is closing
            # at that moment loses the request written on it.
            text += f", sooner than gorouter's {GOROUTER_IDLE_S} s"
    return text


def cpu_table(run: dict[str, Any]) -> str:
    """How busy each CPU set was while wrk ran (medians of the rounds): which side was the
    bottleneck, and how much of the server's CPU other programs took.

    Only the wrk phases: /proc/stat's per-CPU figures are sampled at each timer tick,
    which is fair on a saturated CPU and unreliable on a mostly idle one.
    """
    header = ["contender", "endpoint", "server CPU busy %", "by the server %"]
    header += ["by other programs %", "client CPU busy %", "by the load generator %"]
    rows = []
    for c in measured(run):
        for name in ENDPOINTS:
            cpu = summary(c, name)["cpu"]
            other = max(0.0, cpu["server_cpus_busy_pct"] - cpu["server_tree_pct"])
            rows.append(
                [c["label"], f"`{name}`", f"{cpu['server_cpus_busy_pct']:.0f}",
                 f"{cpu['server_tree_pct']:.0f}", f"{other:.0f}",
                 f"{cpu['client_cpus_busy_pct']:.0f}", f"{cpu['load_generator_pct']:.0f}"]
            )  # fmt: skip
    return _table(header, rows)


# template-only: end
def targets_table(run: dict[str, Any]) -> str:
    rows = [
        [t["target"], t["value"], "met" if t["met"] else "**missed**", t.get("rounds", "")]
        for t in run["targets"]
    ]
    return _table(["target (shipped service)", "measured", "", "every round"], rows)


def evaluate_targets(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets for the shipped service; a result, never a test."""
    shipped = _by_key(run).get(SHIPPED)
    if shipped is None:
        return []
    targets = []
    for other, name, limit in baselines(run):
        for endpoint in ENDPOINTS:
            r = ratio(run, SHIPPED, other, endpoint)
            if r is None:
                continue
            target = _target(
                f"`{endpoint}` req/s >= {limit:g}x {name}", _ratio_text(r), r["ratio"] >= limit
            )
            if len(_round_rates(shipped, endpoint)) > 1 and "rounds_min" in r:
                # How sure: does every round's ratio fall on the same side of the target?
                agree = (r["rounds_min"] >= limit) == (r["rounds_max"] >= limit)
                target["rounds"] = "agree" if agree else "disagree: not sure"
            targets.append(target)
    failed = attempts = 0
    for endpoint in ENDPOINTS:
        figures = shipped["endpoints"][endpoint]
        failed += sum(figures["warmup"]["failed"])
        phases = [figures["summary"]]
        # template-only: begin
        phases.append(figures["fixed_rate"])
        # template-only: end
        for phase in phases:
            failed += phase["failed"]
            attempts += phase["attempts"]
    targets.append(
        _target("0 failed requests (every phase)", f"{failed} of {attempts}", failed == 0)
    )
    # template-only: begin
    rate = f"{run['settings']['rate']:g} req/s"
    for endpoint in ENDPOINTS:
        p99 = shipped["endpoints"][endpoint]["fixed_rate"]["p99_ms"]
        targets.append(
            _target(f"`{endpoint}` p99 at {rate} <= {TARGET_P99_MS:g} ms", f"{p99:.2f} ms",
                    p99 <= TARGET_P99_MS)
        )  # fmt: skip
    # template-only: end
    rss = shipped["peak_rss_mib"]
    targets.append(
        _target(f"peak RSS, whole service <= {TARGET_RSS_MIB:.0f} MiB", f"{rss:.0f} MiB",
                rss <= TARGET_RSS_MIB)
    )  # fmt: skip
    ready = shipped["ready_ms"]
    targets.append(
        _target(f"first 200 within {TARGET_READY_S:g} s of start", f"{ready:.0f} ms",
                ready <= TARGET_READY_S * 1000)
    )  # fmt: skip
    return targets


def _target(target: str, value: str, met: bool) -> dict[str, Any]:
    return {"target": target, "value": value, "met": met}


def markdown(run: dict[str, Any]) -> str:
    s = run["settings"]
    parts = []
    if run["mode"] == "quick":
        parts.append(
            "**Quick run: a functional check. Its numbers compare nothing.** Every contender "
            "was started, answered correctly and went through every phase, but each phase "
            "lasted a second or two (warm-ups cut short, one round has no spread): for "
            "a comparison, run `make bench`."
        )
    rounds = f"{s['rounds']} round{'s' if s['rounds'] > 1 else ''} of {s['round_s']:g} s"
    idle = ""
    # template-only: begin
    idle = (
        f"; {s['idle_connections']} idle keep-alive connections held to every contender"
        if s["idle_connections"]
        else "; no idle connections held"
    )
    # template-only: end
    names = " and ".join(name for _, name, _ in baselines(run))
    parts += [f"### Headline: the shipped service against {names}", headline(run)]
    for endpoint in ENDPOINTS:
        parts += [
            f"### `{endpoint}`: wrk, {s['connections']} connections, {rounds} per contender "
            f"(interleaved, order rotated), after warm-up{idle}",
            throughput_table(run, endpoint),
        ]
    jit = ""
    # template-only: begin
    jit = f"; a JIT's: {s['jit_steady_windows']} in a row, at most {s['jit_warmup_cap_s']:g} s"
    # template-only: end
    parts += [
        f"### Warm-up: {s['warmup_window_s']:g} s windows until {s['steady_windows']} in a "
        f"row are within {s['steady_pct']:g}% in req/s and in server CPU per request (at most "
        f"{s['warmup_cap_s']:g} s per contender{jit})",
        warmup_table(run),
    ]
    # template-only: begin
    parts += [
        f"### Latency at a fixed rate: {s['rate']:g} req/s, {s['connections']} connections, "
        f"{s['fixed_rate_s']:g} s, measured from the intended send time",
        fixed_rate_table(run),
    ]
    # template-only: end
    parts += [
        f"### Memory and start-up (each alone, median of {s['starts']})",
        process_table(run),
    ]
    # template-only: begin
    parts += ["### CPU while wrk ran (medians of the rounds)", cpu_table(run)]
    # template-only: end
    if run["targets"]:
        parts += ["### Targets (reported, never asserted)", targets_table(run)]
    failures = [c for c in run["contenders"] if not c.get("ok")]
    for c in failures:
        parts.append(f"**{c['label']}: not measured**: {c['error']}")
    if "duration_s" in run:
        parts.append(f"Run time: {run['duration_s'] / 60:.1f} min.")
    return "\n\n".join(parts) + "\n"


def write_json(run: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run, indent=2) + "\n")
