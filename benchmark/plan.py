"""What a run does and how long it takes: its settings, full and quick, and its plan."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    mode: str  # "full" or "quick"
    starts: int  # start-up is timed this many times per contender, each alone; the median
    warmup_window_s: float  # wrk windows until two in a row agree within steady_pct
    warmup_cap_s: float  # per contender, both endpoints: the JVM may need tens of seconds
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
_START_S = 4.0
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
    """The run's length with `warmup_s` seconds of warm-up per contender."""
    pairs = contenders * ENDPOINT_COUNT
    startup = contenders * settings.starts * _START_S + _SHARED_START_S
    windows = warmup_s / settings.warmup_window_s
    warmup = contenders * (warmup_s + windows * _WINDOW_OVERHEAD_S)
    rounds = settings.rounds * pairs * (settings.round_s + _WINDOW_OVERHEAD_S)
    fixed_rate = pairs * (settings.fixed_rate_s + _FIXED_RATE_OVERHEAD_S)
    return startup + warmup + rounds + fixed_rate


def plan(settings: Settings, contenders: int) -> tuple[float, float]:
    """(typical, longest) run length in seconds: the warm-up's length depends on how soon
    each contender is steady, at most its cap."""
    window = settings.warmup_window_s
    least = ENDPOINT_COUNT * MIN_WARMUP_WINDOWS * window
    longest = max(least, settings.warmup_cap_s)
    typical = min(longest, ENDPOINT_COUNT * _TYPICAL_WARMUP_WINDOWS * window)
    return planned_seconds(settings, contenders, typical), planned_seconds(
        settings, contenders, longest
    )
