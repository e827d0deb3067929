"""How the pipeline runs its steps and commands: banners with durations, every command
printed before it runs, and DRY_RUN, which prints the same commands and runs none."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class StepFailed(Exception):
    """A step cannot go on; the message says why."""


def say(text: str = "") -> None:
    # Flushed at once: the commands' own output goes straight to the same stdout.
    print(text, flush=True)


def quote_command(command: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    assignments = [f"{name}={shlex.quote(value)}" for name, value in (env or {}).items()]
    return " ".join([*assignments, shlex.join(command)])


class Shell:
    """Runs commands for the steps, or only prints them when `dry_run`.

    Children get this process's environment; the directory of the running Python (the
    project's virtualenv) is appended to PATH as a fallback for tox, pytest, uwsgi and
    bump-my-version, so a `cf` or `tox` earlier on PATH (a stand-in, in tests) still wins.
    """

    def __init__(self, *, dry_run: bool) -> None:
        self.dry_run = dry_run
        self.base_env = dict(os.environ)
        bindir = str(Path(sys.executable).parent)
        self.base_env["PATH"] = os.pathsep.join([self.base_env.get("PATH", ""), bindir])

    def run(
        self,
        command: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        unset: Sequence[str] = (),
    ) -> None:
        """Print the command (with the variables it is given), then run it; a non-zero
        exit fails the step."""
        say(f"  $ {quote_command(command, env)}")
        if self.dry_run:
            return
        # A session of its own, so that an interrupt can stop all of it (see below).
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=self._env(env, unset),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            returncode = process.wait()
        except KeyboardInterrupt:
            # Ctrl-C, or a CI job's cancel (SIGTERM), reached this process: pass it on to
            # the command and everything it started (tox, its pytest, their servers).
            _stop_group(process)
            raise
        if returncode != 0:
            raise StepFailed(f"`{shlex.join(command)}` exited with status {returncode}")

    def query(self, command: Sequence[str], *, cwd: Path | None = None) -> str | None:
        """Run a read-only command and return its output, or None if it failed (or in a
        dry run, where it is only printed)."""
        say(f"  $ {quote_command(command)}")
        if self.dry_run:
            return None
        result = subprocess.run(
            list(command),
            cwd=cwd,
            env=self.base_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-1:]
            say(f"    (exit status {result.returncode}{': ' + detail[0] if detail else ''})")
            return None
        return result.stdout

    def action(self, description: str, perform: Callable[[], object]) -> None:
        """A step's work that is not a command (the local platform's): described, then done."""
        say(f"  - {description}")
        if not self.dry_run:
            perform()

    def _env(self, extra: Mapping[str, str] | None, unset: Sequence[str]) -> dict[str, str]:
        env = {name: value for name, value in self.base_env.items() if name not in unset}
        env.update(extra or {})
        return env


def _stop_group(process: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


@dataclass(frozen=True)
class Step:
    name: str
    perform: Callable[[], None]
    detail: str = ""


def run_steps(steps: Sequence[Step], *, dry_run: bool = False) -> int:
    """Run the steps in order; the first failure stops the pipeline. The exit status."""
    total = len(steps)
    timings: list[tuple[str, float]] = []
    for number, step in enumerate(steps, start=1):
        label = f"[{number}/{total}] {step.name}"
        say(f"==> {label}{f' ({step.detail})' if step.detail else ''}")
        started = time.monotonic()
        try:
            step.perform()
        except (Exception, KeyboardInterrupt) as failure:
            elapsed = time.monotonic() - started
            say(f"<== {label}: FAILED in {elapsed:.1f} s")
            if isinstance(failure, KeyboardInterrupt):
                reason = "interrupted"
            elif isinstance(failure, StepFailed):
                reason = str(failure)
            else:  # a bug, or a tool failing in a way no step foresaw: show where
                traceback.print_exc()
                reason = f"{type(failure).__name__}: {failure}"
            print(
                f"pipeline failed at step {number}/{total}: {step.name}: {reason}",
                file=sys.stderr,
                flush=True,
            )
            return 130 if isinstance(failure, KeyboardInterrupt) else 1
        elapsed = time.monotonic() - started
        timings.append((step.name, elapsed))
        say(f"<== {label}: ok in {elapsed:.1f} s")
    if dry_run:
        say(f"\ndry run: the {total} steps' commands are printed above; none was run")
        return 0
    say("\npipeline passed:")
    for number, (name, elapsed) in enumerate(timings, start=1):
        say(f"  {number}. {name:<32} {elapsed:7.1f} s")
    say(f"     {'total':<32} {sum(elapsed for _, elapsed in timings):7.1f} s")
    return 0
