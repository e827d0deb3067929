#!/usr/bin/env python3
"""The delivery pipeline: `make deliver TARGET=cf|local [DRY_RUN=1]` (README, "Continuous
delivery"). The talk's flow, one step each:

    clean checkout -> tox, every tier -> version bump -> push to staging -> e2e on staging
    -> target production -> push to production -> e2e smoke on production
    -> push the commit and tag

The first failing step stops it with a non-zero exit naming the step, so production is
only touched once staging passed its e2e tests; a failed smoke test rolls production back.
`python scripts/deliver.py --help` lists every setting.
"""

from __future__ import annotations

import configparser
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# The local platform (local_platform/), which delivery.local imports below, is at the root.
sys.path.insert(1, str(REPO_ROOT))

from delivery.cloudfoundry import CloudFoundry  # noqa: E402
from delivery.local import LocalPlatform  # noqa: E402
from delivery.release import Release  # noqa: E402
from delivery.runner import Shell, Step, StepFailed, run_steps, say  # noqa: E402
from delivery.settings import CF_REQUIRED, Settings, SettingsError, parse  # noqa: E402

# The one tox env the pipeline's tox step leaves out: its tests run this very script (it
# would never end).
PIPELINE_ENV = "pipeline"
# What the e2e tier reads: the tox step must deploy locally, whatever the caller has set.
E2E_VARIABLES = ("E2E_BASE_URL", "E2E_EXPECT_VERSION")
IDENTITY = {"user.name": "Delivery pipeline", "user.email": "delivery-pipeline@localhost"}


def delivery_envs(tox_ini: Path) -> list[str]:
    """tox.ini's env_list, less the pipeline's own env."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(tox_ini)
    raw = config.get("tox", "env_list", fallback=config.get("tox", "envlist", fallback=""))
    return [env for env in re.split(r"[\s,]+", raw) if env and env != PIPELINE_ENV]


def _read(command: list[str], cwd: Path) -> str | None:
    """A read-only look at this checkout while planning (also in a dry run)."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def _origin_of_this_repository() -> str | None:
    return _read(["git", "remote", "get-url", "origin"], REPO_ROOT)


class Pipeline:
    def __init__(self, settings: Settings, shell: Shell, workspace: Path) -> None:
        self.settings = settings
        self.shell = shell
        self.workspace = workspace
        self.checkout = workspace / "checkout"
        self.source = settings.get("REPO_URL") or str(REPO_ROOT)
        self.branch = settings.get("BRANCH")
        self.release: Release | None = None
        self._previous_tag: str | None = None
        self._previous: Release | None = None
        self.platform: CloudFoundry | LocalPlatform
        if settings.target == "cf":
            self.platform = CloudFoundry(settings, shell, self.checkout, REPO_ROOT / "manifest.yml")
        else:
            self.platform = LocalPlatform(settings, shell, workspace / "platform")

    def steps(self) -> list[Step]:
        return [
            Step("clean checkout", self.clean_checkout, self.source),
            Step("tox, every tier", self.every_tier),
            Step("bump version", self.bump, self.settings.bump),
            Step("push to staging", self.push_to_staging, self.settings.target),
            Step("e2e on staging", lambda: self.e2e("staging")),
            Step("target production", self.target_production),
            Step("push to production", lambda: self.platform.push("production", self._new())),
            Step("e2e smoke on production", self.smoke_production),
            Step("push the commit and tag", self.push_commit_and_tag),
        ]

    # 1. A fresh clone: what is delivered is what is committed, nothing else.
    def clean_checkout(self) -> None:
        branch = ["--branch", self.branch] if self.branch else []
        self.shell.run(["git", "clone", "--quiet", *branch, self.source, str(self.checkout)])
        if self.shell.dry_run:
            self.branch = self.branch or _read(["git", "branch", "--show-current"], REPO_ROOT)
            return
        self.branch = self.shell.query(["git", "branch", "--show-current"], cwd=self.checkout)
        if not self.branch or not self.branch.strip():
            raise StepFailed("the checkout is not on a branch: set BRANCH to the one to deliver")
        self.branch = self.branch.strip()
        # The bump commits and tags: give the checkout an identity if the machine has none.
        if self.shell.query(["git", "config", "user.email"], cwd=self.checkout) is None:
            for key, value in IDENTITY.items():
                self.shell.run(["git", "config", key, value], cwd=self.checkout)

    # 2. Every tier but the pipeline's own tests (PIPELINE_ENV).
    def every_tier(self) -> None:
        envs = self.settings.get("TOX_ENVS")
        if envs is None:
            tox_ini = (REPO_ROOT if self.shell.dry_run else self.checkout) / "tox.ini"
            envs = ",".join(delivery_envs(tox_ini))
            say(f"  - tox.ini's env_list but {PIPELINE_ENV}: {envs}")
        workdir = self.settings.get("PIPELINE_TOX_WORKDIR")
        command = ["tox", "run", "-e", envs, *(["--workdir", workdir] if workdir else [])]
        self.shell.run(command, cwd=self.checkout, unset=E2E_VARIABLES)
        if self.shell.dry_run:
            return
        # The bump commits the checkout as it is: a tier must leave tracked files alone.
        status = ["git", "status", "--porcelain", "--untracked-files=no"]
        changed = [
            line[3:] for line in (self.shell.query(status, cwd=self.checkout) or "").splitlines()
        ]
        if changed:
            raise StepFailed(
                f"the tiers changed tracked files: {', '.join(changed)}; a cache or test output"
                " must not be in the repository (`git rm --cached` it, add it to .gitignore)"
            )

    # 3. bump-my-version writes the new version everywhere, commits and tags.
    def bump(self) -> None:
        self._previous_tag = self.shell.query(
            ["git", "describe", "--tags", "--abbrev=0", "--match", "v[0-9]*", "HEAD"],
            cwd=self.checkout,
        )
        if self._previous_tag is None and not self.shell.dry_run:
            say("  - no earlier release tag: this is the first release")
        self.shell.run(["bump-my-version", "bump", self.settings.bump], cwd=self.checkout)
        if self.shell.dry_run:
            version = self._planned_version()
            self.release = Release(self.checkout, version, "<new commit>", f"v{version}")
            return
        pyproject = tomllib.loads((self.checkout / "pyproject.toml").read_text())
        version = pyproject["tool"]["bumpversion"]["current_version"]
        commit = (self.shell.query(["git", "rev-parse", "HEAD"], cwd=self.checkout) or "").strip()
        tags = self.shell.query(["git", "tag", "--points-at", "HEAD"], cwd=self.checkout) or ""
        if not commit or not tags.split():
            raise StepFailed("bump-my-version made no commit and tag")
        self.release = Release(self.checkout, version, commit, tags.split()[0])
        say(f"  - {self.release.tag} at {commit[:12]}")

    def _planned_version(self) -> str:
        command = ["bump-my-version", "show", "--increment", self.settings.bump, "new_version"]
        shown = _read([str(Path(sys.executable).parent / command[0]), *command[1:]], REPO_ROOT)
        return shown or "<new version>"

    def _new(self) -> Release:
        assert self.release is not None, "the version is bumped before anything is pushed"
        return self.release

    # 4. The platform builds and runs the new release in staging.
    def push_to_staging(self) -> None:
        self.platform.login()
        self.platform.select("staging")
        self.platform.push("staging", self._new())

    # 5 and 8. The e2e tier of the new release, against the stage's URL.
    def e2e(self, stage: str) -> None:
        env = {
            "E2E_BASE_URL": self.platform.url(stage),
            "E2E_EXPECT_VERSION": self._new().version,
            # The journeys use no pytest plugin; loading the test tiers' (schemathesis,
            # hypothesis) would take longer than the journeys themselves.
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        }
        self.shell.run(["pytest", "e2e/journeys"], cwd=self.checkout, env=env)

    # 6. Production from here on; note what it runs, to roll back to it.
    def target_production(self) -> None:
        self.platform.select("production")
        self.platform.note_running_release("production", self.previous_release)

    def previous_release(self) -> Release | None:
        """The last release before this one (the newest version tag), checked out beside
        the new one, or None when this is the first."""
        if self._previous is not None or self._previous_tag is None or self.shell.dry_run:
            return self._previous
        tag = self._previous_tag.strip()
        directory = self.workspace / "previous"
        self.shell.run(
            ["git", "worktree", "add", "--detach", str(directory), tag], cwd=self.checkout
        )
        pyproject = tomllib.loads((directory / "pyproject.toml").read_text())
        version = pyproject.get("tool", {}).get("bumpversion", {}).get("current_version")
        commit = (self.shell.query(["git", "rev-parse", "HEAD"], cwd=directory) or "").strip()
        self._previous = Release(directory, version or tag.removeprefix("v"), commit, tag)
        return self._previous

    def smoke_production(self) -> None:
        if self.shell.dry_run:
            say(f"  - if the smoke test fails: {self.platform.rollback_plan()}")
        try:
            self.e2e("production")
        except StepFailed as failure:
            say("  - production failed its smoke test: rolling back")
            try:
                done = self.platform.rollback("production", self.previous_release)
            except Exception as error:
                raise StepFailed(
                    f"{failure}; the rollback failed too ({error}): production may be serving"
                    f" {self._new().tag}"
                ) from error
            say(f"  - production {done}")
            raise StepFailed(f"{failure}; production was rolled back: {done}") from None

    # 9. Only now does the release exist for everyone else.
    def push_commit_and_tag(self) -> None:
        remote = self._push_remote()
        if remote is None:
            say("  - skipped: local mode pushes only to a REPO_URL you give; your working")
            say("    repository is left as it was (the release exists only in the checkout)")
            return
        release = self._new()
        refs = [f"HEAD:refs/heads/{self.branch or '<branch>'}", f"refs/tags/{release.tag}"]
        # Atomic: the branch and its tag land together or not at all.
        self.shell.run(["git", "push", "--atomic", remote, *refs], cwd=self.checkout)

    def _push_remote(self) -> str | None:
        if self.settings.get("REPO_URL"):
            return "origin"  # the clone's origin is REPO_URL
        if self.settings.target == "local":
            return None
        # Cloned from this working copy: the release goes to the repository it came from.
        return _origin_of_this_repository() or "<origin>"

    def teardown(self) -> None:
        self.platform.teardown()


def main(argv: list[str]) -> int:
    try:
        settings = parse(argv)
    except SettingsError as error:
        print(f"deliver: {error}", file=sys.stderr)
        return 2
    unpushable = not settings.get("REPO_URL") and _origin_of_this_repository() is None
    if settings.target == "cf" and not settings.dry_run and unpushable:
        # Found out now, not after production is updated: step 9 would have nowhere to go.
        print("deliver: set REPO_URL, the repository to push the release to", file=sys.stderr)
        return 2
    # CI cancels a job with SIGTERM: end the way Ctrl-C does, through the teardown below.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    dry_run = settings.dry_run
    workspace = Path("<workspace>") if dry_run else Path(tempfile.mkdtemp(prefix="deliver-"))
    mode = "dry run: every command is printed, none is run" if dry_run else f"in {workspace}"
    say(f"deliver {settings.target}: {mode}")
    missing = [name for name in CF_REQUIRED if not settings.get(name)]
    if settings.target == "cf" and missing:
        say(f"  (a real run needs {', '.join(missing)}: README, Continuous delivery)")
    pipeline = Pipeline(settings, Shell(dry_run=dry_run), workspace)
    try:
        return run_steps(pipeline.steps(), dry_run=dry_run)
    finally:
        pipeline.teardown()
        if not dry_run:
            if settings.flag("KEEP_WORKSPACE"):
                say(f"workspace kept: {workspace}")
            else:
                shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
