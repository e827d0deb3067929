"""Fixtures of the pipeline's tests.

The pipeline clones, commits, tags and pushes: here it only ever does so in throwaway
repositories made from this working tree, never in this repository or its remotes.

- `snapshot`: this working tree as it is (uncommitted changes too), committed alone in a
  repository of its own, so the tests deliver the code under test.
- `origin`: a bare clone of it, the REPO_URL a test delivers from and pushes to.
- `standins`: `cf` and `tox` stand-ins (standin.py) first on PATH, and what they recorded.
- `deliver(...)`: runs scripts/deliver.py with only the settings a test gives it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local_platform.stage import Stage, deployed

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DELIVER_TIMEOUT = 900
# Test tools' caches, whether or not git ignores them: never part of a release.
TOOL_CACHES = {".hypothesis", ".schemathesis", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
# The pipeline's own settings and what the e2e tier reads: a test sets what it needs.
SETTING_PREFIXES = ("CF_", "E2E_", "LOCAL_", "STANDIN_")
SETTINGS = {
    "TARGET",
    "DRY_RUN",
    "BUMP",
    "REPO_URL",
    "BRANCH",
    "KEEP_WORKSPACE",
    "TOX_ENVS",
    "PIPELINE_TOX_WORKDIR",
}


# The tests' own commits and tags, on a machine that may have no git identity (a CI runner).
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "pipeline tests",
    "GIT_AUTHOR_EMAIL": "pipeline-tests@localhost",
    "GIT_COMMITTER_NAME": "pipeline tests",
    "GIT_COMMITTER_EMAIL": "pipeline-tests@localhost",
}


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


def bump(directory: Path, part: str) -> None:
    subprocess.run(
        [str(BIN / "bump-my-version"), "bump", part],
        cwd=directory,
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        check=True,
        timeout=60,
    )


@pytest.fixture(scope="session")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("snapshot")
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO_ROOT)
    for name in listed.split("\0"):
        source = REPO_ROOT / name
        if name.split("/")[0] in TOOL_CACHES:
            continue
        if name and source.is_file():  # a tracked file deleted in the working tree is gone
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git("init", "--quiet", "--initial-branch", "main", cwd=repo)
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "--message", "the working tree under test", cwd=repo)
    return repo


@pytest.fixture
def origin(snapshot: Path, tmp_path: Path) -> Path:
    bare = tmp_path / "origin.git"
    git("clone", "--quiet", "--bare", str(snapshot), str(bare), cwd=tmp_path)
    return bare


def version_of(directory: Path) -> str:
    """The version of the checkout in `directory`, as bump-my-version reads it."""
    show = subprocess.run(
        [str(BIN / "bump-my-version"), "show", "current_version"],
        cwd=directory,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return show.stdout.strip()


@dataclass
class StandIns:
    bin_dir: Path
    record: Path

    def calls(self, tool: str | None = None) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        calls = [json.loads(line) for line in self.record.read_text().splitlines()]
        return [call for call in calls if tool is None or call["tool"] == tool]

    def argvs(self, tool: str) -> list[list[str]]:
        return [call["argv"] for call in self.calls(tool)]


@pytest.fixture
def standins(tmp_path: Path) -> StandIns:
    bin_dir = tmp_path / "standin-bin"
    bin_dir.mkdir()
    script = Path(__file__).with_name("standin.py")
    for tool in ("cf", "tox"):
        wrapper = bin_dir / tool
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" {tool} "$@"\n')
        wrapper.chmod(0o755)
    return StandIns(bin_dir, tmp_path / "standin-calls.jsonl")


@dataclass
class Delivery:
    returncode: int
    stdout: str
    stderr: str
    tmpdir: Path

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


Deliver = Callable[..., Delivery]


@pytest.fixture
def deliver(tmp_path: Path) -> Deliver:
    """`deliver(standins, TARGET="cf", ...)`: one pipeline run, with the stand-ins first
    on PATH when given, and these settings as environment variables."""

    def run(standins: StandIns | None = None, **settings: str) -> Delivery:
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in SETTINGS and not name.startswith(SETTING_PREFIXES)
        }
        # The pipeline's temporary workspace goes here, so a test can see it is removed.
        tmpdir = tmp_path / f"tmp-{len(list(tmp_path.glob('tmp-*')))}"
        tmpdir.mkdir()
        env["TMPDIR"] = str(tmpdir)
        path = [str(BIN), env.get("PATH", "")]
        if standins is not None:
            path.insert(0, str(standins.bin_dir))
            env["STANDIN_RECORD"] = str(standins.record)
        env["PATH"] = os.pathsep.join(path)
        env.update(settings)
        result = subprocess.run(
            [sys.executable, str(REPO_ROOT / "scripts" / "deliver.py")],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=DELIVER_TIMEOUT,
            check=False,
        )
        # On failure, pytest shows what the pipeline printed.
        print(result.stdout)
        print(result.stderr, file=sys.stderr)
        return Delivery(result.returncode, result.stdout, result.stderr, tmpdir)

    return run


def steps_passed(output: str) -> list[int]:
    """The numbers of the steps that closed with '<== [N/9] name: ok in 1.2 s'."""
    return [int(m.group(1)) for m in re.finditer(r"^<== \[(\d)/9\] .*: ok in ", output, re.M)]


# Releases the e2e steps can be pointed at, as a stage would answer after a push.


@pytest.fixture(scope="session")
def old_app(snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    """The release before this delivery: it reports the old version."""
    with deployed(snapshot, tmp_path_factory.mktemp("old-app")) as stage:
        yield stage


@pytest.fixture(scope="session")
def new_release(snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the pipeline's patch bump makes of the snapshot: a checkout of it."""
    checkout = tmp_path_factory.mktemp("new-release")
    git("clone", "--quiet", str(snapshot), str(checkout), cwd=checkout.parent)
    bump(checkout, "patch")
    return checkout


@pytest.fixture(scope="session")
def new_version(new_release: Path) -> str:
    return version_of(new_release)


@pytest.fixture(scope="session")
def new_app(new_release: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    """The new release running, as a successful push leaves it."""
    with deployed(new_release, tmp_path_factory.mktemp("new-app")) as stage:
        yield stage


def served_version(stage: Stage) -> str:
    """The version a local deployment was pushed with (its manifest's VERSION)."""
    assert stage.release is not None
    return stage.release.manifest.env["VERSION"]
