"""The benchmark: the shipped service against the limit of its stack, bare Falcon on the
same uwsgi.ini.

    make bench              # the full run (it prints how long it will take first)
    make bench QUICK=1      # a functional check (CI): every contender, every phase, briefly
    python -m benchmark.run --before REF   # the shipped service before and after a change
    python -m benchmark.run --help

First each contender is started alone on the server CPU set a few times (start to first
200), and its answers checked. Then every contender is started at once and, from the
client CPU set, warmed up until it is steady, measured in interleaved rounds (the order
rotated each round; median and spread reported), while each one's process tree is
sampled for memory and CPU time. Prints Markdown tables on stdout and writes
benchmark/results/latest.json. Exits non-zero when any contender could not be measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from benchmark import report
from benchmark.contenders import KEYS, REPO, Contender, build
from benchmark.load import Endpoint
from benchmark.phases import Context, Entry, shared_phase, time_startups
from benchmark.plan import FULL, QUICK, Settings, cpu_set, plan

# template-only: begin
from benchmark.showcase import add_options, commands, describe_machine
from benchmark.showcase import write_outputs as write_showcase_outputs

# template-only: end

BODY_FILE = REPO / "benchmark" / "body.json"
ENDPOINTS = (Endpoint("GET /", None), Endpoint("POST /", BODY_FILE))
RESULTS_DIR = REPO / "benchmark" / "results"
# Warm-up windows this many in a row, this close in req/s and in server CPU per request,
# count as steady (benchmark/rounds.py says why three).
STEADY_WINDOWS = 3
STEADY_PCT = 5.0


def parse_args(argv: list[str] | None) -> tuple[Settings, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="python -m benchmark.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="a functional check (CI)")
    parser.add_argument(
        "--contenders",
        default=",".join(KEYS),
        help="comma-separated, from: " + ", ".join(KEYS) + " (default: %(default)s)",
    )
    parser.add_argument(
        "--before",
        metavar="REF",
        help="also run the shipped service at this git commit (falcon-uwsgi@REF)",
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, help="measuring rounds")
    parser.add_argument("--duration", type=float, help="seconds of wrk per round and endpoint")
    parser.add_argument("--warmup-window", type=float, help="seconds per warm-up window")
    parser.add_argument("--warmup-cap", type=float, help="most warm-up seconds per contender")
    parser.add_argument("--starts", type=int, help="start-up timings per contender")
    parser.add_argument("--server-cpus", default="0", help="taskset list for the servers")
    parser.add_argument("--client-cpus", default="1", help="taskset list for the load")
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    # template-only: begin
    add_options(parser)
    # template-only: end
    args = parser.parse_args(argv)
    phases: dict[str, Any] = dict(QUICK if args.quick else FULL)
    phases |= {"steady_windows": STEADY_WINDOWS, "steady_pct": STEADY_PCT}
    for name, value in (
        ("rounds", args.rounds),
        ("round_s", args.duration),
        ("warmup_window_s", args.warmup_window),
        ("warmup_cap_s", args.warmup_cap),
        ("starts", args.starts),
        # template-only: begin
        ("jit_warmup_cap_s", args.jit_warmup_cap),
        ("fixed_rate_s", args.fixed_rate_duration),
        ("rate", args.rate),
        ("idle_connections", args.idle_connections),
        # template-only: end
    ):
        if value is not None:
            phases[name] = value
    settings = Settings(
        mode="quick" if args.quick else "full",
        connections=args.connections,
        server_cpus=args.server_cpus,
        client_cpus=args.client_cpus,
        **phases,
    )
    args.keys = [key.strip() for key in args.contenders.split(",") if key.strip()]
    unknown = [key for key in args.keys if key not in KEYS]
    if unknown:
        parser.error(f"unknown contender {', '.join(unknown)}")
    if settings.rounds < 1 or settings.starts < 1:
        parser.error("--rounds and --starts must be at least 1")
    return settings, args


def check_prerequisites(settings: Settings, contenders: list[Contender]) -> list[str]:
    """What is missing, in words; `make bench` installs all of it."""
    problems = []
    for tool in ["wrk", "taskset", "git"]:
        if shutil.which(tool) is None:
            problems.append(f"{tool} is not installed")
    server, client = cpu_set(settings.server_cpus), cpu_set(settings.client_cpus)
    available = os.sched_getaffinity(0)
    if not (server | client) <= available:
        problems.append(f"CPUs {sorted(server | client)} are not all available: {available}")
    if server & client:
        problems.append("the server and client CPU sets overlap")
    return problems


class Progress:
    """One progress line on stderr: rewritten in place on a terminal, a line per phase in
    a log (CI), so stdout stays the Markdown report."""

    def __init__(self, total_s: float) -> None:
        self._total_s = total_s
        self._started = time.monotonic()
        self._phase = ""
        self._phase_started = self._started
        self._phase_s = 0.0
        self._tty = sys.stderr.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)
        if self._tty:
            self._thread.start()

    def phase(self, text: str, seconds: float = 0.0) -> None:
        self._phase, self._phase_s = text, seconds
        self._phase_started = time.monotonic()
        if not self._tty:
            print(f"bench: {self._line()}", file=sys.stderr, flush=True)

    def _line(self) -> str:
        now = time.monotonic()
        elapsed = now - self._started
        left = max(0.0, self._total_s - elapsed)
        phase_left = max(0.0, self._phase_s - (now - self._phase_started))
        countdown = f" ({phase_left:.0f} s left)" if self._phase_s else ""
        return f"{self._phase}{countdown}  [{elapsed:.0f} s elapsed, about {left:.0f} s to go]"

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            sys.stderr.write("\r\033[K" + self._line())
            sys.stderr.flush()

    def close(self) -> None:
        self._stop.set()
        if self._tty:
            self._thread.join()
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through every Server's `with`, which stops it


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    settings, args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-") as workspace:
        try:
            contenders = build(args.keys, args.before, Path(workspace))
        except (ValueError, OSError) as error:  # IniError is a ValueError
            print(f"bench: cannot run: {error}", file=sys.stderr)
            return 2
        problems = check_prerequisites(settings, contenders)
        if problems:
            print("bench: cannot run: " + "; ".join(problems) + " (`make bench` installs "
                  "and builds everything)", file=sys.stderr)  # fmt: skip
            return 2
        return run_benchmark(settings, contenders, args, argv)


def run_benchmark(
    settings: Settings, contenders: list[Contender], args: argparse.Namespace, argv: list[str]
) -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    # This process (its samplers, the progress line) stays off the server's CPUs.
    os.sched_setaffinity(0, cpu_set(settings.client_cpus))
    run: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": settings.mode,
        "settings": asdict(settings),
        "contenders": [],
    }
    # template-only: begin
    run["machine"] = describe_machine(settings, args.wait_quiet)
    # template-only: end
    typical, longest = plan(settings, contenders)
    print(f"bench: {settings.mode} run of {len(contenders)} contenders: about "
          f"{_minutes(typical)}, at most {_minutes(longest)} if every warm-up runs to its "
          "cap", file=sys.stderr, flush=True)  # fmt: skip
    progress = Progress(typical)
    entries = [Entry(c) for c in contenders]
    ctx = Context(
        settings,
        ENDPOINTS,
        BODY_FILE.read_bytes(),
        progress,
        args.output_dir / "logs",
    )
    started = time.monotonic()
    try:
        time_startups(entries, ctx)
        shared_phase(entries, ctx)
    except KeyboardInterrupt:
        progress.close()
        print("bench: interrupted; every server started has been stopped", file=sys.stderr)
        return 130
    progress.close()
    run["duration_s"] = round(time.monotonic() - started)
    run["contenders"] = [e.result for e in entries]
    for result in run["contenders"]:
        if not result["ok"]:
            print(f"bench: {result['key']}: {result['error']}", file=sys.stderr, flush=True)
    run["targets"] = report.evaluate_targets(run)
    # template-only: begin
    run["commands"] = commands(settings, run, argv, ENDPOINTS)
    # template-only: end
    return write_outputs(run, args)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def write_outputs(run: dict[str, Any], args: argparse.Namespace) -> int:
    output_dir: Path = args.output_dir
    json_path = output_dir / "latest.json"
    report.write_json(run, json_path)
    written = [json_path]
    # template-only: begin
    written += write_showcase_outputs(run, output_dir, args.record)
    # template-only: end
    print(report.markdown(run))
    print(f"bench: wrote {' and '.join(map(str, written))}", file=sys.stderr)
    failed = [c["key"] for c in run["contenders"] if not c["ok"]]
    if failed:
        print(f"bench: FAILED: {', '.join(failed)} could not be measured", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
