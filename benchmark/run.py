"""The benchmark: the shipped service, the Spring baseline and Falcon on Granian, side by side.

    make bench              # the full run (about 9 minutes)
    make bench QUICK=1      # short phases, every contender still really runs (CI)
    python -m benchmark.run --help

For each contender in turn: start it on the server CPU set (timing start to first 200),
check its answers, then on the client CPU set: warm-up with wrk on both endpoints,
measure each with wrk (throughput), then each at a fixed rate (latency without
coordinated omission), while its whole process tree's memory is sampled; then stop it.
Prints Markdown tables on stdout and writes benchmark/results/latest.{json,png}.
Exits non-zero when any contender could not be measured.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from benchmark import machine, report
from benchmark.contenders import ALL, BY_KEY, REPO, SPRING, Contender
from benchmark.load import (
    Endpoint,
    Shape,
    busy_pct,
    constant_rate_argv,
    cpu_ticks,
    run_constant_rate,
    run_wrk,
    wrk_argv,
)
from benchmark.server import BenchmarkError, Server, check_answers, probe_keep_alive

BODY_FILE = REPO / "benchmark" / "body.json"
ENDPOINTS = (Endpoint("GET /", None), Endpoint("POST /", BODY_FILE))
RESULTS_DIR = REPO / "benchmark" / "results"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    mode: str
    warmup_s: float  # per endpoint, not measured: lets the JVM's JIT compile the hot path
    measure_s: float  # per endpoint, wrk
    fixed_rate_s: float  # per endpoint, constant rate
    rate: float  # requests per second for the fixed-rate phase, the same for everyone
    connections: int
    server_cpus: str
    client_cpus: str
    starts: int  # start-up is timed this many times; the median is reported


FULL = {"warmup_s": 15.0, "measure_s": 30.0, "fixed_rate_s": 30.0, "starts": 3}
QUICK = {"warmup_s": 2.0, "measure_s": 3.0, "fixed_rate_s": 3.0, "starts": 1}
QUIET_PCT = 10.0  # CPU use by others below which the machine counts as quiet


def parse_args(argv: list[str] | None) -> tuple[Settings, list[Contender], argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="python -m benchmark.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="short phases (CI)")
    parser.add_argument(
        "--contenders",
        default=",".join(c.key for c in ALL),
        help="comma-separated, from: " + ", ".join(c.key for c in ALL),
    )
    parser.add_argument("--rate", type=float, default=1000.0, help="fixed-rate req/s")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--warmup", type=float, help="seconds per endpoint")
    parser.add_argument("--duration", type=float, help="seconds of wrk per endpoint")
    parser.add_argument("--fixed-rate-duration", type=float, help="seconds per endpoint")
    parser.add_argument("--starts", type=int, help="start-up timings per contender")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help=f"first wait up to this long for the CPUs to be under {QUIET_PCT:g}%% busy",
    )
    parser.add_argument("--server-cpus", default="0", help="taskset list for the servers")
    parser.add_argument("--client-cpus", default="1", help="taskset list for the load")
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--record", action="store_true", help="also write this run into benchmark/RESULTS.md"
    )
    args = parser.parse_args(argv)
    phases: dict[str, Any] = dict(QUICK if args.quick else FULL)
    for name, value in (
        ("warmup_s", args.warmup),
        ("measure_s", args.duration),
        ("fixed_rate_s", args.fixed_rate_duration),
        ("starts", args.starts),
    ):
        if value is not None:
            phases[name] = value
    settings = Settings(
        mode="quick" if args.quick else "full",
        rate=args.rate,
        connections=args.connections,
        server_cpus=args.server_cpus,
        client_cpus=args.client_cpus,
        **phases,
    )
    try:
        contenders = [BY_KEY[key.strip()] for key in args.contenders.split(",")]
    except KeyError as error:
        parser.error(f"unknown contender {error}")
    return settings, contenders, args


def cpu_set(spec: str) -> set[int]:
    """A taskset CPU list ("0", "0,2", "2-3") as a set."""
    cpus: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus


def check_prerequisites(settings: Settings, contenders: list[Contender]) -> list[str]:
    """What is missing, in words; `make bench` installs all of it."""
    problems = []
    for tool in ("wrk", "taskset", "java"):
        if shutil.which(tool) is None:
            problems.append(f"{tool} is not installed")
    if any(c.key == "spring" for c in contenders) and not (SPRING / "build/classpath.txt").exists():
        problems.append("the Spring baseline is not built (benchmark/spring/build.sh)")
    if not (Path(sys.executable).parent / "granian").exists():
        problems.append("granian is not installed in this venv (benchmark/requirements.txt)")
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


def wait_for_quiet(settings: Settings, wait_s: float) -> float:
    """The busiest CPU's use by other programs over 3 s, waiting up to `wait_s` for a
    quiet machine first. Recorded with the run: a busy machine makes noisy numbers."""
    cpus = cpu_set(settings.server_cpus) | cpu_set(settings.client_cpus)
    deadline = time.monotonic() + wait_s
    while True:
        before = cpu_ticks()
        time.sleep(3)
        after = cpu_ticks()
        busiest = max(busy_pct(before, after, {cpu}) for cpu in cpus)
        if busiest < QUIET_PCT or time.monotonic() >= deadline:
            return busiest
        print(f"bench: waiting for a quiet machine (a CPU is {busiest:.0f}% busy)", file=sys.stderr)


def planned_seconds(settings: Settings, contenders: int) -> float:
    per_endpoint = settings.warmup_s + settings.measure_s + settings.fixed_rate_s
    start_and_stop = 5.0 * settings.starts  # start-up, checks and a graceful stop, roughly
    return contenders * (len(ENDPOINTS) * per_endpoint + start_and_stop)


def bench_contender(
    contender: Contender, settings: Settings, progress: Progress, tag: str, log_dir: Path
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "key": contender.key,
        "label": contender.label,
        "keep_alive": contender.keep_alive,
        "settings": contender.settings,
        "ok": False,
    }
    log_path = log_dir / f"{contender.key}.log"
    ready: list[float] = []
    try:
        # Start-up varies from one start to the next (disk cache, the machine's other
        # work): time a few starts and report the median. The last server is measured.
        for number in range(1, settings.starts + 1):
            progress.phase(f"{tag} start {number}/{settings.starts}")
            with Server(contender, settings.server_cpus, log_path) as server:
                ready.append(server.wait_ready())
                if number == settings.starts:
                    result["command"] = _shown_command(server)
                    result["ready_ms"] = statistics.median(ready)
                    result["ready_ms_each"] = ready
                    result.update(measure_server(server, settings, progress, tag))
                    result["ok"] = True
    except (BenchmarkError, RuntimeError, OSError) as error:
        result["error"] = str(error)
        print(f"bench: {contender.key}: {error}", file=sys.stderr, flush=True)
    return result


def measure_server(
    server: Server, settings: Settings, progress: Progress, tag: str
) -> dict[str, Any]:
    """Check a started server's answers, then load it: warm-up, wrk, fixed rate."""
    shape = Shape(settings.client_cpus, settings.connections)
    check_answers(server.port, BODY_FILE.read_bytes(), server.contender.key)
    keep_alive = probe_keep_alive(server.port)
    endpoints: dict[str, dict[str, Any]] = {e.name: {} for e in ENDPOINTS}
    for e in ENDPOINTS:
        progress.phase(f"{tag} warm-up {e.name}", settings.warmup_s)
        run_wrk(server.url, e, shape, settings.warmup_s)
    for e in ENDPOINTS:
        progress.phase(f"{tag} wrk {e.name}", settings.measure_s)
        endpoints[e.name]["throughput"] = measure_wrk(server, e, shape, settings)
    for e in ENDPOINTS:
        progress.phase(f"{tag} {settings.rate:g} req/s {e.name}", settings.fixed_rate_s)
        endpoints[e.name]["fixed_rate"] = measure_fixed_rate(server, e, shape, settings)
    progress.phase(f"{tag} stopping")
    assert server.sampler is not None
    return {
        "keep_alive_observed": keep_alive,
        "peak_rss_mib": server.sampler.peak_rss / MIB,
        "peak_pss_mib": server.sampler.peak_pss / MIB,
        "processes": server.sampler.max_processes,
        "endpoints": endpoints,
    }


def measure_wrk(
    server: Server, endpoint: Endpoint, shape: Shape, settings: Settings
) -> dict[str, Any]:
    return with_cpu(
        server, settings, lambda: run_wrk(server.url, endpoint, shape, settings.measure_s)
    )


def measure_fixed_rate(
    server: Server, endpoint: Endpoint, shape: Shape, settings: Settings
) -> dict[str, Any]:
    return with_cpu(
        server,
        settings,
        lambda: run_constant_rate(
            server.url, endpoint, shape, settings.fixed_rate_s, settings.rate
        ),
    )


def with_cpu(
    server: Server, settings: Settings, measure: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """A phase's figures, plus how busy each CPU set was: which side was the bottleneck,
    and how much of the server's CPU other programs on the machine took."""
    assert server.sampler is not None
    ticks, tree_cpu, started = cpu_ticks(), server.sampler.cpu_seconds(), time.monotonic()
    metrics = measure()
    elapsed = time.monotonic() - started
    server_cpus, client_cpus = cpu_set(settings.server_cpus), cpu_set(settings.client_cpus)
    tree_cpu = server.sampler.cpu_seconds() - tree_cpu
    after = cpu_ticks()
    metrics["cpu"] = {
        "server_cpus_busy_pct": busy_pct(ticks, after, server_cpus),
        "server_tree_pct": 100 * tree_cpu / (elapsed * len(server_cpus)),
        # CPU time per answered request: unlike req/s, other programs taking the
        # server's CPU do not change it, so it compares runs on a busy machine.
        "server_cpu_us_per_request": 1e6 * tree_cpu / max(1, _answered(metrics)),
        "client_cpus_busy_pct": busy_pct(ticks, after, client_cpus),
        "load_generator_pct": 100 * metrics.pop("client_cpu_s") / (elapsed * len(client_cpus)),
    }
    return metrics


def _answered(metrics: dict[str, Any]) -> int:
    answered: int = metrics["requests"] if "requests" in metrics else metrics["raw"]["completed"]
    return answered


def _shown_command(server: Server) -> str:
    """The contender's command line with the environment it was given beyond the caller's."""
    extra = {k: v for k, v in server.launch.env.items() if os.environ.get(k) != v and k != "PATH"}
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(extra.items()))
    return f"{env} {shlex.join(server.launch.argv)}".strip()


def commands(settings: Settings, run: dict[str, Any], argv: list[str]) -> list[str]:
    url = "http://127.0.0.1:PORT/"
    shape = Shape(settings.client_cpus, settings.connections)
    lines = [
        "# make bench (QUICK=1: --quick; BENCH_ARGS: more options) runs, from the repo's root:",
        f"python -m benchmark.run {shlex.join(argv)}".rstrip(),
    ]
    for c in run["contenders"]:
        if "command" in c:
            lines += [f"# {c['label']}", c["command"]]
    get, post = ENDPOINTS
    lines += [
        "# load, per endpoint (POST: BENCH_BODY_FILE=benchmark/body.json), warm-up then measured",
        shlex.join(wrk_argv(url, shape, settings.measure_s)),
        shlex.join(constant_rate_argv(url, get, shape, settings.fixed_rate_s, settings.rate)),
        shlex.join(constant_rate_argv(url, post, shape, settings.fixed_rate_s, settings.rate)),
    ]
    # As typed from the repository's root, with the venv's bin first on PATH.
    python = str(Path(sys.executable).parent) + os.sep
    return [line.replace(python, "").replace(f"{REPO}{os.sep}", "") for line in lines]


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through every Server's `with`, which stops it


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    settings, contenders, args = parse_args(argv)
    problems = check_prerequisites(settings, contenders)
    if problems:
        print("bench: cannot run: " + "; ".join(problems) + " (`make bench` installs and "
              "builds everything)", file=sys.stderr)  # fmt: skip
        return 2
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    # This process (its memory sampler, the progress line) stays off the server's CPUs.
    os.sched_setaffinity(0, cpu_set(settings.client_cpus))
    busy = wait_for_quiet(settings, args.wait_quiet)
    # Described once the wait is over: the commit and load are those the run measures.
    run: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": settings.mode,
        "settings": asdict(settings),
        "machine": machine.describe(settings.server_cpus),
        "contenders": [],
    }
    run["machine"]["busiest_cpu_before_start_pct"] = round(busy, 1)
    if busy >= QUIET_PCT:
        print(f"bench: warning: other programs keep a CPU {busy:.0f}% busy; expect noisy "
              "numbers (see the CPU table)", file=sys.stderr)  # fmt: skip
    progress = Progress(planned_seconds(settings, len(contenders)))
    try:
        for number, contender in enumerate(contenders, 1):
            tag = f"[{number}/{len(contenders)} {contender.key}]"
            result = bench_contender(contender, settings, progress, tag, args.output_dir / "logs")
            run["contenders"].append(result)
    except KeyboardInterrupt:
        progress.close()
        print("bench: interrupted; every server started has been stopped", file=sys.stderr)
        return 130
    progress.close()
    run["targets"] = report.evaluate_targets(run)
    run["commands"] = commands(settings, run, argv)
    return write_outputs(run, args)


def write_outputs(run: dict[str, Any], args: argparse.Namespace) -> int:
    output_dir: Path = args.output_dir
    json_path, chart_path = output_dir / "latest.json", output_dir / "latest.png"
    report.write_json(run, json_path)
    written = [json_path]
    if any(c["ok"] for c in run["contenders"]):
        report.write_chart(run, chart_path)
        written.append(chart_path)
    print(report.markdown(run))
    print(f"bench: wrote {' and '.join(map(str, written))}", file=sys.stderr)
    failed = [c["key"] for c in run["contenders"] if not c["ok"]]
    if failed:
        print(f"bench: FAILED: {', '.join(failed)} could not be measured", file=sys.stderr)
        return 1
    if args.record:
        bench_dir = REPO / "benchmark"
        report.record(run, chart_path, bench_dir / "RESULTS.md", bench_dir / "RESULTS.png")
        print("bench: recorded in benchmark/RESULTS.md and RESULTS.png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
