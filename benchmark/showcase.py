"""The template's own part of a run: its options, the machine's record, the chart (PNG),
and `--record`'s RESULTS.md (run.py calls these; a generated service has none of them)."""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

# The object-oriented API, not pyplot: no GUI backend and no global state, only a file.
from matplotlib.figure import Figure

from benchmark import machine
from benchmark.contenders import REPO
from benchmark.fixed_rate import constant_rate_argv
from benchmark.load import Endpoint, Shape, wrk_argv
from benchmark.plan import Settings
from benchmark.report import (
    ENDPOINTS,
    TARGET_P99_MS,
    TARGET_READY_S,
    TARGET_RSS_MIB,
    markdown,
    measured,
    summary,
)
from benchmark.server import Server

RESULTS_BEGIN = "<!-- recorded run: begin (written by `python -m benchmark.run --record`) -->"
RESULTS_END = "<!-- recorded run: end -->"


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--idle-connections",
        type=int,
        default=100,
        help="idle keep-alive connections held to each contender, as gorouter does (0: none)",
    )
    parser.add_argument("--rate", type=float, default=1000.0, help="fixed-rate req/s")
    parser.add_argument("--fixed-rate-duration", type=float, help="seconds per endpoint")
    parser.add_argument("--jit-warmup-cap", type=float, help="most warm-up seconds for a JVM")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help=f"first wait up to this long for the CPUs to be under {machine.QUIET_PCT:g}%% busy",
    )
    parser.add_argument(
        "--record", action="store_true", help="also write this run into benchmark/RESULTS.md"
    )


def describe_machine(settings: Settings, wait_quiet_s: float) -> dict[str, Any]:
    """The machine, once it is quiet enough (or `wait_quiet_s` has passed): the commit and
    load described are those the run measures."""
    busy = machine.wait_for_quiet(settings, wait_quiet_s)
    described = machine.describe(settings.server_cpus)
    described["busiest_cpu_before_start_pct"] = round(busy, 1)
    if busy >= machine.QUIET_PCT:
        print(f"bench: warning: other programs keep a CPU {busy:.0f}% busy; expect noisy "
              "numbers (see the CPU table)", file=sys.stderr)  # fmt: skip
    return described


def commands(
    s: Settings, run: dict[str, Any], argv: list[str], endpoints: tuple[Endpoint, ...]
) -> list[str]:
    """The run's commands, as typed from the repository's root (RESULTS.md shows them)."""
    url = "http://127.0.0.1:PORT/"
    shape = Shape(s.client_cpus, s.connections)
    lines = [
        "# make bench (QUICK=1: --quick; BENCH_ARGS: more options) runs, from the repo's root:",
        f"python -m benchmark.run {shlex.join(argv)}".rstrip(),
    ]
    for c in run["contenders"]:
        if "command" in c:
            lines.append(f"# {c['label']}" + (f"; {c['derived']}" if c["derived"] else ""))
            lines.append(c["command"])
    lines += [
        "# load, per endpoint (POST: BENCH_BODY_FILE=benchmark/body.json): warm-up windows "
        f"of {s.warmup_window_s:g} s, then rounds of:",
        shlex.join(wrk_argv(url, shape, s.round_s)),
    ]
    lines += [
        shlex.join(constant_rate_argv(url, e, shape, s.fixed_rate_s, s.rate)) for e in endpoints
    ]
    # As typed from the repository's root, with the venv's bin first on PATH.
    python = str(Path(sys.executable).parent) + os.sep
    return [line.replace(python, "").replace(f"{REPO}{os.sep}", "") for line in lines]


def shown_command(server: Server) -> str:
    """The contender's command line with the environment it was given beyond the caller's,
    and its directory when that is not the repository's root."""
    launch = server.launch
    extra = {k: v for k, v in launch.env.items() if os.environ.get(k) != v and k != "PATH"}
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(extra.items()))
    command = f"{env} {shlex.join(launch.argv)}".strip()
    return command if launch.cwd == REPO else f"(cd {launch.cwd} && {command})"


def write_outputs(run: dict[str, Any], output_dir: Path, record_it: bool) -> list[Path]:
    """The chart, and with `record_it` the run in RESULTS.md and RESULTS.png."""
    chart_path = output_dir / "latest.png"
    if not any(c["ok"] for c in run["contenders"]):
        return []
    write_chart(run, chart_path)
    if record_it and all(c["ok"] for c in run["contenders"]):
        bench_dir = Path(__file__).parent
        record(run, chart_path, bench_dir / "RESULTS.md", bench_dir / "RESULTS.png")
        print("bench: recorded in benchmark/RESULTS.md and RESULTS.png", file=sys.stderr)
    return [chart_path]


def write_chart(run: dict[str, Any], path: Path) -> None:
    """Six panels: req/s (median, min-max), warm-up per endpoint, p99 at the fixed rate,
    peak RSS, time to the first 200."""
    contenders = measured(run)
    figure = Figure(figsize=(17, 9))
    axes = figure.subplots(2, 3)
    _throughput_bars(axes[0][0], contenders, run["settings"]["rounds"])
    for axis, endpoint in zip(axes[0][1:], ENDPOINTS, strict=True):
        _warmup_lines(axis, contenders, endpoint)
    labels = _labels(contenders)
    p99 = [[c["endpoints"][e]["fixed_rate"]["p99_ms"] for c in contenders] for e in ENDPOINTS]
    _grouped_bars(axes[1][0], labels, p99)
    rate = run["settings"]["rate"]
    _finish_axis(axes[1][0], labels, f"p99 ms at {rate:g} req/s (fixed rate)", TARGET_P99_MS)
    _single_bars(
        axes[1][1], contenders, [c["peak_rss_mib"] for c in contenders],
        "peak RSS MiB, whole process tree", limit=TARGET_RSS_MIB,
    )  # fmt: skip
    _single_bars(
        axes[1][2], contenders, [c["ready_ms"] / 1000 for c in contenders],
        "seconds from start to first 200 (alone)", limit=TARGET_READY_S,
    )  # fmt: skip
    title = (
        f"{run['machine'].get('cpu_model', '')}: servers on CPU {run['settings']['server_cpus']}, "
        f"load on CPU {run['settings']['client_cpus']} ({run['mode']} run)"
    )
    if run["mode"] == "quick":
        title += ": a functional check, the numbers compare nothing"
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)


def _labels(contenders: list[dict[str, Any]]) -> list[str]:
    # "falcon-uwsgi-router" as "falcon\nuwsgi-router": six labels side by side must fit.
    return [c["key"].replace("-", "\n", 1) for c in contenders]


def _throughput_bars(axis: Any, contenders: list[dict[str, Any]], rounds: int) -> None:
    summaries = [[summary(c, e) for c in contenders] for e in ENDPOINTS]
    medians = [[s["rps_median"] for s in row] for row in summaries]
    errors = [
        [
            [s["rps_median"] - s["rps_min"] for s in row],
            [s["rps_max"] - s["rps_median"] for s in row],
        ]
        for row in summaries
    ]
    labels = _labels(contenders)
    _grouped_bars(axis, labels, medians, errors)
    _finish_axis(axis, labels, f"req/s, median of {rounds} round(s), bars: min-max", None)


def _warmup_lines(axis: Any, contenders: list[dict[str, Any]], endpoint: str) -> None:
    for c in contenders:
        w = c["endpoints"][endpoint]["warmup"]
        seconds = [w["window_s"] * (i + 1) for i in range(len(w["rps"]))]
        axis.plot(seconds, w["rps"], marker="o", markersize=3, label=c["key"])
    axis.set_title(f"warm-up `{endpoint}`: req/s per window", fontsize=10)
    axis.set_xlabel("seconds of warm-up", fontsize=8)
    axis.set_ylim(bottom=0)
    axis.legend(fontsize=7, framealpha=0.9)


def _grouped_bars(
    axis: Any,
    labels: list[str],
    values: list[list[float]],
    errors: list[list[list[float]]] | None = None,
) -> None:
    """Bars for GET / and POST / side by side, per contender; `errors`: below and above."""
    width = 0.38
    for index, (offset, name) in enumerate(((-width / 2, "GET /"), (width / 2, "POST /"))):
        positions = [i + offset for i in range(len(labels))]
        yerr = errors[index] if errors else None
        bars = axis.bar(positions, values[index], width, label=name, yerr=yerr, capsize=3)
        axis.bar_label(bars, labels=[_short(v) for v in values[index]], fontsize=7)
    axis.legend(loc="upper left", fontsize=8, framealpha=0.9)


def _single_bars(
    axis: Any, contenders: list[dict[str, Any]], values: list[float], title: str, limit: float
) -> None:
    bars = axis.bar(range(len(values)), values, 0.5, color="tab:gray")
    axis.bar_label(bars, labels=[_short(v) for v in values], fontsize=8)
    _finish_axis(axis, _labels(contenders), title, limit)


def _finish_axis(axis: Any, labels: list[str], title: str, limit: float | None) -> None:
    axis.set_title(title, fontsize=10)
    axis.set_xticks(range(len(labels)), labels, fontsize=7)
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
    jvm = [f"**JVM as run (server CPU set only)**: {m['jvm_defaults']}", ""]
    jvm = jvm if m.get("jvm_defaults") else []
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
        *jvm,
        "**Commands**:",
        "",
        "```sh",
        *run["commands"],
        "```",
        "",
        f"Every server on CPU {s['server_cpus']}, all up at once; wrk and the fixed-rate "
        f"generator on CPU {s['client_cpus']}; {s['connections']} connections for every "
        f"contender, and {s['idle_connections']} idle ones held to each.",
        "",
        markdown(run).strip(),
        "",
        "![The recorded run](RESULTS.png)",
        "",
        RESULTS_END,
    ]
    # A service's first recorded run starts its own RESULTS.md.
    text = (
        results_md.read_text()
        if results_md.exists()
        else f"# Benchmark: a recorded run\n\n{RESULTS_BEGIN}\n{RESULTS_END}\n"
    )
    pattern = re.compile(re.escape(RESULTS_BEGIN) + ".*?" + re.escape(RESULTS_END), re.DOTALL)
    if not pattern.search(text):
        raise RuntimeError(f"{results_md} has no recorded-run markers")
    results_md.write_text(pattern.sub(lambda _: "\n".join(lines), text))
