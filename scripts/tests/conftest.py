"""Fixtures for the tests of `make new-service` and `make template-update` (tox env
`template`): a template repository made from this working tree, services generated from
it into temporary directories, and git and make run as a user would, with a git
configuration of their own."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
# The name the tests give a new service (another, if the template already has it).
SERVICE_NAME = "billing-api"

Run = Callable[..., subprocess.CompletedProcess[str]]


def template_name(tree: Path) -> str:
    """The template's name, as new_service.py reads it: pyproject.toml's [project] name."""
    name = tomllib.loads((tree / "pyproject.toml").read_text())["project"]["name"]
    assert isinstance(name, str)
    return name


def service_name_for(tree: Path) -> str:
    return SERVICE_NAME if template_name(tree) != SERVICE_NAME else "ledger-api"


@pytest.fixture(scope="session")
def git_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A global git configuration with an identity, and nothing of the machine's."""
    config = tmp_path_factory.mktemp("git") / "config"
    config.write_text(
        "[user]\n\tname = Template Tests\n\temail = template-tests@localhost\n"
        "[init]\n\tdefaultBranch = main\n"
        "[advice]\n\tdetachedHead = false\n"
    )
    return config


def environment(git_config: Path) -> dict[str, str]:
    path = shutil.which("git")
    assert path, "the tests need git"
    return {
        # The system's python3 first, as `make` finds it; this env's tools (ruff) last.
        "PATH": f"{Path(path).parent}:/usr/local/bin:/usr/bin:/bin:{Path(sys.executable).parent}",
        "HOME": str(git_config.parent),
        "LANG": "C.UTF-8",
        "GIT_CONFIG_GLOBAL": str(git_config),
        "GIT_CONFIG_NOSYSTEM": "1",
        # `git merge --continue` and friends must never wait for an editor.
        "GIT_EDITOR": "true",
    }


@pytest.fixture(scope="session")
def run(git_config: Path) -> Run:
    """Run a command as a user would; the result is checked by the test, not here."""
    env = environment(git_config)

    def run(*command: str | Path, cwd: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(part) for part in command],
            cwd=cwd,
            env={**env, **extra_env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


@pytest.fixture(scope="session")
def git(run: Run) -> Callable[..., str]:
    """Run git and return its output; fail the test when git fails."""

    def git(*args: str | Path, cwd: Path) -> str:
        result = run("git", *args, cwd=cwd)
        assert result.returncode == 0, f"git {args} failed:\n{result.stderr}"
        return result.stdout.strip()

    return git


@pytest.fixture(scope="session")
def template_snapshot(tmp_path_factory: pytest.TempPathFactory, git: Callable[..., str]) -> Path:
    """A repository whose one commit is this working tree as it is: its tracked files and
    the new ones git does not ignore (so uncommitted work is tested too), never .venv,
    caches or test artifacts."""
    repo = tmp_path_factory.mktemp("snapshot") / "template"
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for path in filter(None, listing.split("\0")):
        source = PROJECT / path
        if source.is_symlink() or source.is_file():
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / path, follow_symlinks=False)
    git("init", "--quiet", cwd=repo)
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "--message", "The template as the tests found it", cwd=repo)
    return repo


@pytest.fixture
def new_template(
    template_snapshot: Path, tmp_path_factory: pytest.TempPathFactory, git: Callable[..., str]
) -> Callable[[], Path]:
    """Make a template repository of its own for a test to change: a clone of the
    snapshot with no remote, so services generated from it record its path."""

    def new_template() -> Path:
        repo = tmp_path_factory.mktemp("template") / "template"
        git("clone", "--quiet", template_snapshot, repo, cwd=repo.parent)
        git("remote", "remove", "origin", cwd=repo)
        return repo

    return new_template


@pytest.fixture
def generate(run: Run) -> Callable[[Path, Path], Path]:
    """`make new-service` in a template, for a service of the usual name in `where`."""

    def generate(template: Path, where: Path) -> Path:
        dest = where / service_name_for(template)
        result = run("make", "new-service", f"NAME={dest.name}", f"DEST={dest}", cwd=template)
        assert result.returncode == 0, result.stdout + result.stderr
        return dest

    return generate
