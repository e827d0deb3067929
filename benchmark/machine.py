"""What the run was measured on, for the JSON file and RESULTS.md."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from importlib import metadata
from typing import Any

from benchmark.contenders import REPO
from benchmark.load import busy_pct, cpu_ticks
from benchmark.plan import Settings, cpu_set

QUIET_PCT = 10.0  # CPU use by others below which the machine counts as quiet


def describe(server_cpus: str) -> dict[str, Any]:
    return {
        "cpu_model": _cpu_model(),
        "cpus": os.cpu_count(),
        "virtualization": _lscpu_field("Hypervisor vendor"),
        "memory_gib": _memory_gib(),
        "os": _os_name(),
        "kernel": platform.release(),
        "loadavg_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "git": _output(["git", "-C", str(REPO), "describe", "--always", "--dirty"]),
        "versions": _versions(),
        # Only where there is a JVM: the template's Spring baseline.
        "jvm_defaults": _jvm_defaults(server_cpus) if shutil.which("java") else None,
    }


def _cpu_model() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _lscpu_field(name: str) -> str | None:
    for line in _output(["lscpu"]).splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return None


def _memory_gib() -> float:
    with open("/proc/meminfo") as meminfo:
        kib = int(meminfo.readline().split()[1])  # MemTotal
    return kib / 1024 / 1024


def _os_name() -> str:
    try:
        with open("/etc/os-release") as release:
            for line in release:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def _versions() -> dict[str, str]:
    versions = {"Python": platform.python_version()}
    for package in ("falcon", "uWSGI", "granian", "prometheus-client"):
        # Granian is the template's only: a generated service has none.
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    java = _output(["java", "-version"], stderr=True).splitlines()
    if len(java) > 1:
        versions["Java"] = java[1]
    versions["wrk"] = _output(["wrk", "-v"]).split(" [")[0].removeprefix("wrk ")
    return versions


def _jvm_defaults(server_cpus: str) -> str:
    """The JVM's own choices when it sees only the server CPU set (no JAVA_OPTS)."""
    flags = _output(["taskset", "-c", server_cpus, "java", "-XX:+PrintFlagsFinal", "-version"])
    found = {}
    for name in ("UseSerialGC", "UseG1GC", "UseParallelGC", "MaxHeapSize", "TieredCompilation"):
        match = re.search(rf"\b{name}\s*=\s*(\S+)", flags)
        if match:
            found[name] = match.group(1)
    gc = next(
        (n[3:] for n in ("UseSerialGC", "UseG1GC", "UseParallelGC") if found.get(n) == "true"), "?"
    )
    heap = int(found.get("MaxHeapSize", "0")) // (1024 * 1024)
    return (
        f"{gc} collector, max heap {heap} MiB, tiered JIT "
        f"{'on' if found.get('TieredCompilation') == 'true' else 'off'} "
        f"(its own choice, seeing {_visible_cpus(server_cpus)} CPU(s) and {_memory_gib():.0f} GiB)"
    )


def _visible_cpus(spec: str) -> str:
    return _output(["taskset", "-c", spec, "nproc"]) or "?"


def _output(argv: list[str], stderr: bool = False) -> str:
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (completed.stderr if stderr else completed.stdout).strip()


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
