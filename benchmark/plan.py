"""What a run does and how long it takes: its settings, full and quick, and its plan."""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.contenders import Contender


@dataclass(frozen=True)
class Settings:
    mode: str  # "full" or "quick"
    starts: int  # start-up is timed this many times per contender, each alone; the median
    warmup_window_s: float  # wrk windows until `steady_windows` in a row agree within steady_pct
    warmup_cap_s: float  # per contender, both endpoints
    steady_windows: int
    steady_pct: float
    rounds: int  # measuring rounds, each a window per contender and endpoint
    round_s: float  # seconds of wrk per window
    connections: int  # the load generators'
    server_cpus: str
    client_cpus: str
    # template-only: begin
    # A JIT (the JVM's) warms up in steps, for minutes on one CPU: a longer cap, and more
    # windows in a row alike before it counts as steady.
    jit_warmup_cap_s: float
    jit_steady_windows: int
    fixed_rate_s: float  # per contender and endpoint, after the rounds
    rate: float  # requests per second for the fixed-rate phase, the same for everyone
    idle_connections: int  # the gorouter-like idle pool per contender (0: none)
    # template-only: end


FULL = {
    "starts": 3,
    "warmup_window_s": 5.0,
    "warmup_cap_s": 90.0,
    "rounds": 5,
    "round_s": 8.0,
    # template-only: begin
    # Spring climbed from 4k to 22k req/s past a 90 s cap: up to 3 minutes per endpoint.
    "jit_warmup_cap_s": 360.0,
    "jit_steady_windows": 5,
    "fixed_rate_s": 15.0,
    # template-only: end
}
# A functional check (CI): every contender, every phase, each as short as it can be (wrk
# counts whole seconds): one warm-up window per endpoint, one round.
QUICK = {
    "starts": 1,
    "warmup_window_s": 1.0,
    "warmup_cap_s": 2.0,
    "rounds": 1,
    "round_s": 1.0,
    # template-only: begin
    "jit_warmup_cap_s": 2.0,
    "jit_steady_windows": 3,
    "fixed_rate_s": 1.0,
    # template-only: end
}
ENDPOINT_COUNT = 2  # GET /, POST /

# Seconds, measured on the 2-CPU machine this was written on: a start, its first 200 and
# a graceful stop; all started at once, and checked; what a wrk window adds to its own
# duration; warm-up windows a contender and endpoint typically needs on a shared machine.
_START_S = 2.5
_SHARED_START_S = 8.0
_WINDOW_OVERHEAD_S = 0.1
_TYPICAL_WARMUP_WINDOWS = 4
# template-only: begin
_FIXED_RATE_OVERHEAD_S = 0.7
# A JVM's warm-up to a steady state: expected, not yet seen in a full run with its cap.
_TYPICAL_JIT_WARMUP_S = 180.0
# template-only: end


def cpu_set(spec: str) -> set[int]:
    """A taskset CPU list ("0", "0,2", "2-3") as a set."""
    cpus: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus


def planned_seconds(settings: Settings, contenders: int, warmup_s: float) -> float:
    """The run's length with `warmup_s` seconds of warm-up in all."""
    pairs = contenders * ENDPOINT_COUNT
    startup = contenders * settings.starts * _START_S + _SHARED_START_S
    warmup = warmup_s * (1 + _WINDOW_OVERHEAD_S / settings.warmup_window_s)
    rounds = settings.rounds * pairs * (settings.round_s + _WINDOW_OVERHEAD_S)
    phases = [startup, warmup, rounds]
    # template-only: begin
    phases.append(pairs * (settings.fixed_rate_s + _FIXED_RATE_OVERHEAD_S))
    # template-only: end
    return sum(phases)


def plan(settings: Settings, contenders: list[Contender]) -> tuple[float, float]:
    """(typical, longest) run length in seconds. The warm-up's length depends on how soon
    each contender is steady: typically within a few windows; at most its cap (and at
    least a window per endpoint)."""
    window = settings.warmup_window_s
    longest = max(ENDPOINT_COUNT * window, settings.warmup_cap_s)
    typical = min(longest, ENDPOINT_COUNT * _TYPICAL_WARMUP_WINDOWS * window)
    typical_total, longest_total = typical * len(contenders), longest * len(contenders)
    # template-only: begin
    jits = sum(c.jit for c in contenders)
    jit_longest = max(ENDPOINT_COUNT * window, settings.jit_warmup_cap_s)
    typical_total += jits * (min(jit_longest, _TYPICAL_JIT_WARMUP_S) - typical)
    longest_total += jits * (jit_longest - longest)
    # template-only: end
    return (
        planned_seconds(settings, len(contenders), typical_total),
        planned_seconds(settings, len(contenders), longest_total),
    )
