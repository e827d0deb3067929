"""TARGET=local, for real: a clean clone, tox, bump-my-version, two local deployments
with a Redis each, the journeys against both, and the push of the commit and tag.

The tox step runs the unit tier only (TOX_ENVS): `make test` runs every tier itself, and
running them all again here would double its time. Under `make test` it inherits
TOX_CURRENT_ENV=1 and runs in .venv; under plain `tox run` its envs are kept between runs
(PIPELINE_TEST_TOX_WORKDIR, set by tox.ini), so only the first run creates them.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

from e2e.pipeline.conftest import (
    Deliver,
    StandIns,
    git,
    served_version,
    steps_passed,
    version_of,
)
from local_platform.stage import Stage


def tag_current_release(origin: Path) -> str:
    """Tag the origin's head as a release already out, as an earlier delivery left it."""
    checkout = origin.parent / "read-version"
    git("clone", "--quiet", str(origin), str(checkout), cwd=origin.parent)
    version = version_of(checkout)
    git("tag", "--annotate", "--message", "an earlier release", f"v{version}", cwd=origin)
    return version


def processes_mentioning(text: str) -> list[int]:
    """Processes whose command line or working directory contains `text`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if text in cmdline or text in cwd:
            found.append(int(proc.name))
    return found


def refuses_connections(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return False
    except OSError:
        return True


def test_the_whole_pipeline_runs_on_this_machine(
    deliver: Deliver, origin: Path, tmp_path: Path
) -> None:
    previous = tag_current_release(origin)
    tox_workdir = os.environ.get("PIPELINE_TEST_TOX_WORKDIR") or str(tmp_path / "tox")
    result = deliver(
        TARGET="local", REPO_URL=str(origin), TOX_ENVS="unit", PIPELINE_TOX_WORKDIR=tox_workdir
    )

    assert result.returncode == 0
    assert steps_passed(result.stdout) == list(range(1, 10))
    new = git("describe", "--tags", "--abbrev=0", "main", cwd=origin).removeprefix("v")
    assert new != previous
    # Production ran the previous release until the new one replaced it.
    out = result.stdout
    assert (
        out.index(f"production runs v{previous}, the release before this one")
        < out.index(f"push v{previous} to production")
        < out.index(f"push v{new} to production")
    )
    # The journeys passed against staging, then against production.
    journeys = out[out.index("==> [5/9] e2e on staging") :]
    assert len(re.findall(r"^=+ \d+ passed in ", journeys, re.M)) == 2
    staging, production = re.findall(r"- target \w+: (http://127\.0\.0\.1:\d+)", out)
    assert staging != production
    # The release was pushed: the branch is at the bump commit, which has the new tag.
    assert git("tag", "--points-at", "main", cwd=origin) == f"v{new}"

    # Everything is torn down: no process left from the workspace, both ports closed.
    workspace = re.search(r"^deliver local: in (\S+)", out, re.M)
    assert workspace is not None
    assert not Path(workspace.group(1)).exists()
    assert processes_mentioning(workspace.group(1)) == []
    assert refuses_connections(staging)
    assert refuses_connections(production)


def test_a_failed_local_smoke_test_pushes_the_previous_release_again(
    deliver: Deliver, standins: StandIns, origin: Path, old_app: Stage
) -> None:
    previous = tag_current_release(origin)
    result = deliver(
        standins,  # a stand-in tox: this test is about the rollback
        TARGET="local",
        REPO_URL=str(origin),
        # Production's smoke test reaches a deployment of the old release: it fails.
        E2E_PROD_URL=old_app.url,
    )

    assert served_version(old_app) == previous
    assert result.returncode == 1
    assert "pipeline failed at step 8/9: e2e smoke on production:" in result.stderr
    assert f"production was rolled back: re-pushed the previous release v{previous}" in (
        result.stderr
    )
    out = result.stdout
    smoke = out.index("==> [8/9] e2e smoke on production")
    assert out.index(f"push v{previous} to production", smoke) > smoke
    # The failed release is not published.
    assert git("tag", cwd=origin) == f"v{previous}"
    workspace = re.search(r"^deliver local: in (\S+)", out, re.M)
    assert workspace is not None
    assert processes_mentioning(workspace.group(1)) == []
