"""What a run does and how long it takes: its settings, full and quick, and its plan."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    mode: str  # "full" or "quick"
    starts: int  # start-up is timed this many times per contender, each alone; the median
    warmup_window_s: float  # wrk windows until `steady_windows` in a row agree within steady_pct
    warmup_cap_s: float  # per contender, both endpoints: the JVM needs minutes on one CPU
    steady_windows: int
    steady_pct: float
    rounds: int  # measuring rounds, each a window per contender and endpoint
    round_s: float  # seconds of wrk per window
    fixed_rate_s: float  # per contender and endpoint, after the rounds
    rate: float  # requests per second for the fixed-rate phase, the same for everyone
    connections: int  # wrk's and the fixed-rate generator's
    idle_connections: int  # the gorouter-like idle pool per contender (0: none)
    server_cpus: str
    client_cpus: str


FULL = {
    "starts": 3,
    "warmup_window_s": 5.0,
    "warmup_cap_s": 90.0,
    "rounds": 5,
    "round_s": 8.0,
    "fixed_rate_s": 15.0,
}
# A functional check (CI): every contender, every phase, each too short to compare.
QUICK = {
    "starts": 1,
    "warmup_window_s": 1.0,
    "warmup_cap_s": 4.0,
    "rounds": 1,
    "round_s": 2.0,
    "fixed_rate_s": 2.0,
}
ENDPOINT_COUNT = 2  # GET /, POST /

# Seconds, measured on the 2-CPU machine this was written on: a start, its first 200 and
# a graceful stop (the JVM's 3 s dominate); all started at once, checks and the idle pool;
# what a wrk window and a fixed-rate run add to their own duration; warm-up windows a
# contender and endpoint typically needs on a shared machine.
_START_S = 2.5
_SHARED_START_S = 8.0
_WINDOW_OVERHEAD_S = 0.1
_FIXED_RATE_OVERHEAD_S = 0.7
_TYPICAL_WARMUP_WINDOWS = 4
MIN_WARMUP_WINDOWS = 2


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
    fixed_rate = pairs * (settings.fixed_rate_s + _FIXED_RATE_OVERHEAD_S)
    return startup + warmup + rounds + fixed_rate


def plan(settings: Settings, contenders: int, jvms: int) -> tuple[float, float]:
    """(typical, longest) run length in seconds. The warm-up's length depends on how soon
    each contender is steady: the Python servers typically within a few windows, a JVM
    (`jvms` of the contenders) typically not within its cap."""
    window = settings.warmup_window_s
    longest = max(ENDPOINT_COUNT * MIN_WARMUP_WINDOWS * window, settings.warmup_cap_s)
    typical = min(longest, ENDPOINT_COUNT * _TYPICAL_WARMUP_WINDOWS * window)
    typical_total = (contenders - jvms) * typical + jvms * longest
    return (
        planned_seconds(settings, contenders, typical_total),
        planned_seconds(settings, contenders, contenders * longest),
    )
