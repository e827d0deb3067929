"""The run's outputs: Markdown tables, the JSON file, the PNG chart, and RESULTS.md."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

# The object-oriented API, not pyplot: no GUI backend and no global state, only a file.
from matplotlib.figure import Figure

MIB = 1024 * 1024
ENDPOINTS = ("GET /", "POST /")
RESULTS_BEGIN = "<!-- recorded run: begin (written by `python -m benchmark.run --record`) -->"
RESULTS_END = "<!-- recorded run: end -->"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: list[str], rows: list[list[str]]) -> str:
    left = ("contender", "endpoint", "phase", "keep-alive (observed)", "target (shipped service)")
    align = ["---" if name in left else "---:" for name in header]
    return "\n".join([_row(header), _row(align), *(_row(r) for r in rows)])


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def throughput_table(run: dict[str, Any]) -> str:
    """The talk's table: one row per contender and endpoint, from wrk."""
    header = ["contender", "endpoint", "req/s", "mean ms", "failed %"]
    header += ["p50 ms", "p75 ms", "p95 ms", "p99 ms", "max ms", "server CPU µs/req"]
    rows = []
    for c in _measured(run):
        for name in ENDPOINTS:
            t = c["endpoints"][name]["throughput"]
            rows.append(
                [c["label"], f"`{name}`", f"{t['rps']:.0f}", _ms(t["mean_ms"]),
                 f"{t['failed_pct']:.1f}"]
                + [_ms(t[k]) for k in ("p50_ms", "p75_ms", "p95_ms", "p99_ms", "max_ms")]
                + [f"{t['cpu']['server_cpu_us_per_request']:.0f}"]
            )  # fmt: skip
    return _table(header, rows)


def fixed_rate_table(run: dict[str, Any]) -> str:
    header = ["contender", "endpoint", "rate req/s", "mean ms", "failed %"]
    header += ["p50 ms", "p75 ms", "p95 ms", "p99 ms", "max ms"]
    rows = []
    for c in _measured(run):
        for name in ENDPOINTS:
            f = c["endpoints"][name]["fixed_rate"]
            rows.append(
                [c["label"], f"`{name}`", f"{f['achieved_rate']:.0f}", _ms(f["mean_ms"]),
                 f"{f['failed_pct']:.1f}"]
                + [_ms(f[k]) for k in ("p50_ms", "p75_ms", "p95_ms", "p99_ms", "max_ms")]
            )  # fmt: skip
    return _table(header, rows)


def process_table(run: dict[str, Any]) -> str:
    header = ["contender", "peak RSS MiB", "peak PSS MiB", "processes", "start to first 200 ms"]
    header += ["keep-alive (observed)"]
    rows = [
        [c["label"], f"{c['peak_rss_mib']:.0f}", f"{c['peak_pss_mib']:.0f}",
         str(c["processes"]), f"{c['ready_ms']:.0f}", c["keep_alive_observed"]]
        for c in _measured(run)
    ]  # fmt: skip
    return _table(header, rows)


def cpu_table(run: dict[str, Any]) -> str:
    """How busy each CPU set was while wrk ran: which side was the bottleneck, and how
    much of the server's CPU other programs on the machine took.

    Only the wrk phases: /proc/stat's per-CPU figures are sampled at each timer tick,
    which is fair on a saturated CPU and unreliable on a mostly idle one (the fixed-rate
    phases); those figures are in the JSON file.
    """
    header = ["contender", "endpoint", "server CPU busy %", "by the server %"]
    header += ["by other programs %", "client CPU busy %", "by the load generator %"]
    rows = []
    for c in _measured(run):
        for name in ENDPOINTS:
            cpu = c["endpoints"][name]["throughput"]["cpu"]
            other = max(0.0, cpu["server_cpus_busy_pct"] - cpu["server_tree_pct"])
            rows.append(
                [c["label"], f"`{name}`", f"{cpu['server_cpus_busy_pct']:.0f}",
                 f"{cpu['server_tree_pct']:.0f}", f"{other:.0f}",
                 f"{cpu['client_cpus_busy_pct']:.0f}", f"{cpu['load_generator_pct']:.0f}"]
            )  # fmt: skip
    return _table(header, rows)


def targets_table(run: dict[str, Any]) -> str:
    rows = [[t["target"], t["value"], "met" if t["met"] else "**missed**"] for t in run["targets"]]
    return _table(["target (shipped service)", "measured", ""], rows)


def _measured(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in run["contenders"] if c.get("ok")]


def evaluate_targets(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets for the shipped service; a result, never a test."""
    by_key = {c["key"]: c for c in _measured(run)}
    shipped, spring = by_key.get("falcon-uwsgi"), by_key.get("spring")
    if shipped is None:
        return []
    targets = []
    for name in ENDPOINTS:
        if spring is not None:
            ratio = (
                shipped["endpoints"][name]["throughput"]["rps"]
                / spring["endpoints"][name]["throughput"]["rps"]
            )
            targets.append(_target(f"`{name}` req/s >= 3x Spring", f"{ratio:.2f}x", ratio >= 3))
    failed = [
        shipped["endpoints"][name][phase]["failed_pct"]
        for name in ENDPOINTS
        for phase in ("throughput", "fixed_rate")
    ]
    targets.append(
        _target("0 failed requests", f"up to {max(failed):.1f}% failed", max(failed) == 0)
    )
    for name in ENDPOINTS:
        p99 = shipped["endpoints"][name]["fixed_rate"]["p99_ms"]
        targets.append(_target(f"`{name}` p99 at fixed rate <= 5 ms", f"{p99:.2f} ms", p99 <= 5))
    rss = shipped["peak_rss_mib"]
    targets.append(_target("peak RSS (all processes) <= 128 MiB", f"{rss:.0f} MiB", rss <= 128))
    ready = shipped["ready_ms"]
    targets.append(_target("first 200 within 1.5 s of start", f"{ready:.0f} ms", ready <= 1500))
    return targets


def _target(target: str, value: str, met: bool) -> dict[str, Any]:
    return {"target": target, "value": value, "met": met}


def markdown(run: dict[str, Any]) -> str:
    s = run["settings"]
    parts = []
    if run["mode"] == "quick":
        parts.append(
            "**Quick run**: it checks that every contender works; its phases are too short "
            "for a comparison (2 s of warm-up leaves the JVM's JIT cold). Use the full run."
        )
    parts += [
        f"### Throughput: wrk, {s['connections']} connections, {s['measure_s']:g} s per "
        f"endpoint after {s['warmup_s']:g} s of warm-up",
        throughput_table(run),
        f"### Latency at a fixed rate: {s['rate']:g} req/s, {s['connections']} connections, "
        f"{s['fixed_rate_s']:g} s, measured from the intended send time",
        fixed_rate_table(run),
        "### Memory, start-up and connections",
        process_table(run),
        "### CPU while wrk ran (server CPU set, load generator CPU set)",
        cpu_table(run),
    ]
    if run["targets"]:
        parts += ["### Targets", targets_table(run)]
    failures = [c for c in run["contenders"] if not c.get("ok")]
    for c in failures:
        parts.append(f"**{c['label']}: not measured**: {c['error']}")
    return "\n\n".join(parts) + "\n"


def write_json(run: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run, indent=2) + "\n")


def write_chart(run: dict[str, Any], path: Path) -> None:
    """Four panels: req/s, p99 at the fixed rate, peak RSS, time to the first 200."""
    contenders = _measured(run)
    figure = Figure(figsize=(12, 8.5))
    axes = figure.subplots(2, 2)
    _grouped_bars(axes[0][0], contenders, ("throughput", "rps"), "req/s (wrk; failed % if any)")
    _grouped_bars(
        axes[0][1], contenders, ("fixed_rate", "p99_ms"),
        f"p99 ms at {run['settings']['rate']:g} req/s (fixed rate)", limit=5.0,
    )  # fmt: skip
    _single_bars(
        axes[1][0], contenders, [c["peak_rss_mib"] for c in contenders],
        "peak RSS MiB, whole process tree", limit=128.0,
    )  # fmt: skip
    _single_bars(
        axes[1][1], contenders, [c["ready_ms"] / 1000 for c in contenders],
        "seconds from start to first 200", limit=1.5,
    )  # fmt: skip
    figure.suptitle(
        f"{run['machine'].get('cpu_model', '')}: server on CPU {run['settings']['server_cpus']}, "
        f"load on CPU {run['settings']['client_cpus']} ({run['mode']} run)"
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)


def _labels(contenders: list[dict[str, Any]]) -> list[str]:
    return [c["label"].replace(" (", "\n(") for c in contenders]


def _grouped_bars(
    axis: Any,
    contenders: list[dict[str, Any]],
    phase_metric: tuple[str, str],
    title: str,
    limit: float | None = None,
) -> None:
    phase, metric = phase_metric
    width = 0.38
    for offset, name in ((-width / 2, "GET /"), (width / 2, "POST /")):
        figures = [c["endpoints"][name][phase] for c in contenders]
        values = [f[metric] for f in figures]
        bars = axis.bar([i + offset for i in range(len(values))], values, width, label=name)
        labels = [
            _short(v) + (f"\n{f['failed_pct']:.0f}% failed" if f["failed_pct"] else "")
            for v, f in zip(values, figures, strict=True)
        ]
        axis.bar_label(bars, labels=labels, fontsize=8)
    _finish_axis(axis, _labels(contenders), title, limit)
    axis.legend(loc="upper left", fontsize=8, framealpha=0.9)


def _single_bars(
    axis: Any, contenders: list[dict[str, Any]], values: list[float], title: str, limit: float
) -> None:
    bars = axis.bar(range(len(values)), values, 0.5, color="tab:gray")
    axis.bar_label(bars, labels=[_short(v) for v in values], fontsize=8)
    _finish_axis(axis, _labels(contenders), title, limit)


def _finish_axis(axis: Any, labels: list[str], title: str, limit: float | None) -> None:
    axis.set_title(title, fontsize=10)
    axis.set_xticks(range(len(labels)), labels, fontsize=8)
    axis.margins(y=0.15)  # room for the labels above the bars
    if limit is not None:
        axis.set_ylim(top=max(axis.get_ylim()[1], limit * 1.15))
        axis.axhline(limit, color="tab:red", linestyle="--", linewidth=1)
        axis.text(0.99, limit, "target ", color="tab:red", fontsize=8, ha="right", va="bottom",
                  transform=axis.get_yaxis_transform())  # fmt: skip


def _short(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def record(run: dict[str, Any], chart: Path, results_md: Path, results_png: Path) -> None:
    """Put this run into RESULTS.md (between the markers) and its chart in RESULTS.png."""
    shutil.copyfile(chart, results_png)
    m = run["machine"]
    s = run["settings"]
    lines = [
        RESULTS_BEGIN,
        "",
        f"Recorded {run['generated_at']} ({run['mode']} run, git {m.get('git', '?')}).",
        "",
        "**Machine**: "
        + "; ".join(
            [
                f"{m['cpu_model']}, {m['cpus']} CPUs ({m.get('virtualization', 'bare metal')})",
                f"{m['memory_gib']:.0f} GiB",
                m["os"],
                f"Linux {m['kernel']}",
                f"load average at start {m['loadavg_at_start']}",
                f"busiest CPU just before the run {m['busiest_cpu_before_start_pct']}% busy",
            ]
        ),
        "",
        "**Software**: "
        + ", ".join(f"{name} {version}" for name, version in m["versions"].items()),
        "",
        f"**JVM as run (server CPU set only)**: {m.get('jvm_defaults', '?')}",
        "",
        "**Commands**:",
        "",
        "```sh",
        *run["commands"],
        "```",
        "",
        f"Server on CPU {s['server_cpus']}, wrk and the fixed-rate generator on CPU "
        f"{s['client_cpus']}; {s['connections']} connections for every contender.",
        "",
        markdown(run).strip(),
        "",
        "![The recorded run](RESULTS.png)",
        "",
        RESULTS_END,
    ]
    text = results_md.read_text()
    pattern = re.compile(re.escape(RESULTS_BEGIN) + ".*?" + re.escape(RESULTS_END), re.DOTALL)
    if not pattern.search(text):
        raise RuntimeError(f"{results_md} has no recorded-run markers")
    results_md.write_text(pattern.sub(lambda _: "\n".join(lines), text))
