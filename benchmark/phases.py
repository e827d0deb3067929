"""The run's phases: start-up timing (each contender alone), then the shared phase.

In the shared phase every contender is up at once, as in production a router sees
several backends: on the client CPU set each is warmed up to a steady state and measured
in interleaved rounds (benchmark/rounds.py), while each one's process tree is sampled
for memory and CPU time. A contender that fails (does not start, answers wrongly, exits)
gets no numbers; the others go on.
template-only: begin
In the template, a gorouter-like pool also holds idle connections to every contender
(benchmark/idle_pool.py) from before the warm-up on, and after the rounds each contender
is loaded at a fixed rate (benchmark/constant_rate.py), for latency.
template-only: end
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# template-only: begin
from functools import cached_property

# template-only: end
from pathlib import Path
from typing import Any, Protocol

from benchmark import rounds
from benchmark.contenders import Contender

# template-only: begin
from benchmark.fixed_rate import run_constant_rate
from benchmark.idle_pool import IdlePool, probe_keep_alive

# template-only: end
from benchmark.load import Endpoint, Shape, busy_pct, cpu_ticks, run_wrk
from benchmark.plan import Settings, cpu_set
from benchmark.server import BenchmarkError, Server, check_answers

# template-only: begin
from benchmark.showcase import shown_command

# template-only: end

MIB = 1024 * 1024


class Progress(Protocol):
    def phase(self, text: str, seconds: float = 0.0) -> None: ...


@dataclass
class Entry:
    """One contender in this run: its result so far, and its server in the shared phase."""

    contender: Contender
    result: dict[str, Any] = field(default_factory=dict)
    server: Server | None = None

    def __post_init__(self) -> None:
        c = self.contender
        self.result = {"key": c.key, "label": c.label, "keep_alive": c.keep_alive}
        self.result |= {"settings": c.settings, "derived": c.derived, "ok": True}

    @property
    def ok(self) -> bool:
        return bool(self.result["ok"])

    def fail(self, error: Exception) -> None:
        self.result["ok"] = False
        self.result["error"] = str(error)
        if self.server is not None:
            self.server.stop()


FAILURES = (BenchmarkError, RuntimeError, OSError)


@dataclass(frozen=True)
class Context:
    """What every phase needs: the settings, the requests, where to report and log."""

    settings: Settings
    endpoints: tuple[Endpoint, ...]
    body: bytes  # POST /'s, for the answer checks
    progress: Progress
    log_dir: Path

    @property
    def shape(self) -> Shape:
        return Shape(self.settings.client_cpus, self.settings.connections)

    def log(self, entry: Entry) -> Path:
        return self.log_dir / f"{entry.contender.key}.log"

    # template-only: begin
    @cached_property
    def pool(self) -> IdlePool:
        """The gorouter-like idle connections to every contender (of size 0: none)."""
        return IdlePool(self.settings.idle_connections)

    # template-only: end


def time_startups(entries: list[Entry], ctx: Context) -> None:
    """Start to first 200, each contender alone on the server CPUs (nothing else of ours
    is running): the median of `starts` starts. The first start's answers are checked
    too, so a broken contender is known before the long part."""
    starts = ctx.settings.starts
    for entry in entries:
        key = entry.contender.key
        ready = []
        try:
            for number in range(1, starts + 1):
                ctx.progress.phase(f"[start-up] {key} start {number}/{starts}")
                with Server(entry.contender, ctx.settings.server_cpus, ctx.log(entry)) as s:
                    ready.append(s.wait_ready())
                    if number == 1:
                        check_answers(s.port, ctx.body, key)
        except FAILURES as error:
            entry.fail(error)
            continue
        entry.result["ready_ms"] = statistics.median(ready)
        entry.result["ready_ms_each"] = ready


def shared_phase(entries: list[Entry], ctx: Context) -> None:
    settings = ctx.settings
    with contextlib.ExitStack() as stack:
        # Every contender at once; each server stops when the stack unwinds.
        ctx.progress.phase("[shared] starting every contender at once")
        for entry in _ok(entries):
            server = Server(entry.contender, settings.server_cpus, ctx.log(entry))
            entry.server = stack.enter_context(server)
        for entry in entries:
            _attempt(entry, _check, ctx)
        # template-only: begin
        stack.enter_context(ctx.pool)
        if settings.idle_connections:
            ctx.progress.phase(
                f"[shared] opening {settings.idle_connections} idle connections each"
            )
            for entry in entries:
                _attempt(entry, _add_to_pool, ctx.pool)
            ctx.pool.start()
        # template-only: end
        _warm_up(entries, ctx)
        _measure_rounds(entries, ctx)
        # template-only: begin
        _fixed_rate(entries, ctx)
        # template-only: end
        for entry in _ok(entries):
            _finish(entry, ctx)


def _ok(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if e.ok]


def _server(entry: Entry) -> Server:
    assert entry.server is not None
    return entry.server


def _attempt(entry: Entry, step: Callable[..., None], *args: Any) -> None:
    """`step(entry, *args)`, unless the contender has failed already; a failure stops it.
    The server must be running before and after the step: one that died under load (or
    was killed by someone else) has figures that say nothing."""
    if not entry.ok:
        return
    try:
        _server(entry).check_running()
        step(entry, *args)
        _server(entry).check_running()
    except FAILURES as error:
        entry.fail(error)


def _check(entry: Entry, ctx: Context) -> None:
    server = _server(entry)
    # Started together, so this is not the start-up figure (that is timed alone).
    entry.result["ready_ms_shared"] = server.wait_ready()
    check_answers(server.port, ctx.body, entry.contender.key)
    # template-only: begin
    entry.result["keep_alive_observed"] = probe_keep_alive(server.port)
    entry.result["command"] = shown_command(server)
    # template-only: end
    entry.result["endpoints"] = {}


# template-only: begin
def _add_to_pool(entry: Entry, pool: IdlePool) -> None:
    pool.add(entry.contender.key, _server(entry).port)


# template-only: end


def _focus(entries: list[Entry], on: Entry) -> None:
    """Sample the memory of the contender under load often, the others rarely."""
    for entry in _ok(entries):
        sampler = _server(entry).sampler
        if sampler is not None:
            sampler.focus(entry is on)


def _warm_up(entries: list[Entry], ctx: Context) -> None:
    """Each contender in turn, its endpoints one after the other, within one budget per
    contender (--warmup-cap): each endpoint may use an equal share of what is left, so
    an endpoint that is steady soon leaves more to the next (a JIT warms each endpoint's
    own code only under that endpoint's load)."""
    s = ctx.settings
    for entry in _ok(entries):
        _focus(entries, entry)
        budget, steady = s.warmup_cap_s, (s.steady_windows, s.steady_pct)
        # template-only: begin
        if entry.contender.jit:
            budget, steady = s.jit_warmup_cap_s, (s.jit_steady_windows, s.steady_pct)
        # template-only: end
        for index, e in enumerate(ctx.endpoints):
            cap = budget / (len(ctx.endpoints) - index)
            _attempt(entry, _warm_up_one, e, cap, steady, ctx)
            if entry.ok:
                budget -= entry.result["endpoints"][e.name]["warmup"]["seconds"]


def _warm_up_one(
    entry: Entry, e: Endpoint, cap_s: float, steady: tuple[int, float], ctx: Context
) -> None:
    key, server, s = entry.contender.key, _server(entry), ctx.settings

    def window() -> dict[str, Any]:
        ctx.progress.phase(f"[warm-up] {key} {e.name}", s.warmup_window_s)
        return with_cpu(server, s, lambda: run_wrk(server.url, e, ctx.shape, s.warmup_window_s))

    warm = rounds.warm_up(window, s.warmup_window_s, cap_s, steady)
    entry.result["endpoints"].setdefault(e.name, {})["warmup"] = warm


def _measure_rounds(entries: list[Entry], ctx: Context) -> None:
    s = ctx.settings
    for number in range(1, s.rounds + 1):
        for e in ctx.endpoints:
            for entry in rounds.rotated(_ok(entries), number - 1):
                ctx.progress.phase(
                    f"[round {number}/{s.rounds}] {entry.contender.key} {e.name}", s.round_s
                )
                _focus(entries, entry)
                _attempt(entry, _measure_window, e, number, ctx)


def _measure_window(entry: Entry, e: Endpoint, number: int, ctx: Context) -> None:
    server, seconds = _server(entry), ctx.settings.round_s
    # template-only: begin
    held = ctx.pool.held(entry.contender.key)
    # template-only: end
    figures = with_cpu(server, ctx.settings, lambda: run_wrk(server.url, e, ctx.shape, seconds))
    figures["round"] = number
    # template-only: begin
    figures["idle_connections_held"] = held
    # template-only: end
    entry.result["endpoints"][e.name].setdefault("rounds", []).append(figures)


# template-only: begin
def _fixed_rate(entries: list[Entry], ctx: Context) -> None:
    s = ctx.settings
    for entry in _ok(entries):
        _focus(entries, entry)
        for e in ctx.endpoints:
            ctx.progress.phase(
                f"[fixed rate {s.rate:g} req/s] {entry.contender.key} {e.name}", s.fixed_rate_s
            )
            _attempt(entry, _fixed_rate_one, e, ctx)


def _fixed_rate_one(entry: Entry, e: Endpoint, ctx: Context) -> None:
    server, s = _server(entry), ctx.settings
    figures = with_cpu(
        server,
        s,
        lambda: run_constant_rate(server.url, e, ctx.shape, s.fixed_rate_s, s.rate),
    )
    entry.result["endpoints"][e.name]["fixed_rate"] = figures


# template-only: end
def _finish(entry: Entry, ctx: Context) -> None:
    """The contender's summary figures, while its server still runs."""
    server = _server(entry)
    for figures in entry.result["endpoints"].values():
        figures["summary"] = rounds.summarize(figures["rounds"])
    sampler = server.sampler
    assert sampler is not None
    entry.result["peak_rss_mib"] = sampler.peak_rss / MIB
    entry.result["peak_pss_mib"] = sampler.peak_pss / MIB
    entry.result["processes"] = sampler.max_processes
    # template-only: begin
    size = ctx.settings.idle_connections
    entry.result["idle_pool"] = ctx.pool.stats(entry.contender.key) if size else None
    # template-only: end


def with_cpu(
    server: Server, settings: Settings, measure: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """A phase's figures, plus how busy each CPU set was: which side was the bottleneck,
    and how much of the server's CPU other programs on the machine took (the other
    contenders, waiting, are among them)."""
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
