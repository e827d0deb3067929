"""TARGET=cf, with a stand-in `cf` (and `tox`) on PATH that records every call.

The e2e steps run the real journeys: the stage URLs point at local deployments of the
bumped release (which passes them) or of the release before it (which reports the old
version, so the journeys fail), as staging or production would answer after a push.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from e2e.pipeline.conftest import (
    Deliver,
    StandIns,
    git,
    served_version,
    steps_passed,
    version_of,
)
from local_platform.stage import Stage

SETTINGS = {
    "TARGET": "cf",
    "CF_API": "https://api.sys.example.test",
    "CF_USERNAME": "delivery-bot",
    "CF_PASSWORD": "s3cret-never-printed",
    "CF_STAGING_ORG": "acme-staging",
    "CF_STAGING_SPACE": "apps-staging",
    "CF_STAGING_ROUTE": "example-app-staging.apps.example.test",
    "CF_PROD_ORG": "acme",
    "CF_PROD_SPACE": "apps",
    "CF_PROD_ROUTE": "example-app.apps.example.test",
}
STAGING_TARGET = ["target", "-o", "acme-staging", "-s", "apps-staging"]
PROD_TARGET = ["target", "-o", "acme", "-s", "apps"]
PUSH_STAGING = ["push", "example-app", "-f", "manifest.staging.yml", "--strategy", "rolling"]
PUSH_PROD = ["push", "example-app", "-f", "manifest.production.yml", "--strategy", "rolling"]


def release_tags(origin: Path) -> list[str]:
    return git("tag", cwd=origin).split()


def test_delivers_through_staging_to_production_in_order(
    deliver: Deliver, standins: StandIns, origin: Path, new_app: Stage, new_version: str
) -> None:
    before = git("rev-parse", "main", cwd=origin)
    result = deliver(
        standins,
        REPO_URL=str(origin),
        E2E_STAGING_URL=new_app.url,
        E2E_PROD_URL=new_app.url,
        **SETTINGS,
    )

    assert result.returncode == 0
    assert steps_passed(result.stdout) == list(range(1, 10))
    # Every tier, but never the pipeline's own tests (they run this very pipeline).
    (tox,) = standins.argvs("tox")
    assert tox[:2] == ["run", "-e"]
    assert {"lint", "unit", "service", "coverage", "e2e"} <= set(tox[2].split(","))
    assert "pipeline" not in tox[2].split(",")
    assert standins.argvs("cf") == [
        ["api", "https://api.sys.example.test"],
        ["auth"],  # cf reads CF_USERNAME and CF_PASSWORD from its environment
        STAGING_TARGET,
        PUSH_STAGING,
        PROD_TARGET,
        ["app", "example-app", "--guid"],
        ["curl", "/v3/apps/standin-app-guid/revisions/deployed"],
        PUSH_PROD,
    ]
    # tox ran before anything was pushed (both stand-ins write to the same record).
    assert next(call["tool"] for call in standins.calls()) == "tox"
    assert SETTINGS["CF_PASSWORD"] not in result.output

    # The release went out, then was pushed: a commit after the old head, and its tag.
    tag = f"v{new_version}"
    assert release_tags(origin) == [tag]
    assert git("rev-parse", "main", cwd=origin) == git("rev-parse", f"{tag}^{{commit}}", cwd=origin)
    assert git("rev-parse", "main~1", cwd=origin) == before
    commit = git("rev-parse", "main", cwd=origin)

    # Each push carried the stage's route and the release's version and commit.
    pushes = [call for call in standins.calls("cf") if call["argv"][0] == "push"]
    for call, route in zip(
        pushes, [SETTINGS["CF_STAGING_ROUTE"], SETTINGS["CF_PROD_ROUTE"]], strict=True
    ):
        app = yaml.safe_load(call["manifest"])["applications"][0]
        assert app["routes"] == [{"route": route}]
        assert app["env"]["VERSION"] == new_version
        assert app["env"]["GIT_COMMIT"] == commit
        assert app["command"] == "uwsgi --ini uwsgi.ini"
        assert app["services"] == ["example-app-redis"]

    # The temporary workspace is gone.
    assert not list(result.tmpdir.glob("deliver-*"))


def test_a_tier_that_changes_tracked_files_stops_the_pipeline_before_the_bump(
    deliver: Deliver, standins: StandIns, origin: Path
) -> None:
    result = deliver(standins, REPO_URL=str(origin), STANDIN_TOX_TOUCH="manifest.yml", **SETTINGS)

    assert result.returncode == 1
    assert "pipeline failed at step 2/9: tox, every tier:" in result.stderr
    assert "the tiers changed tracked files: manifest.yml" in result.stderr
    assert standins.argvs("cf") == []
    assert release_tags(origin) == []


def test_a_failed_staging_push_stops_before_production(
    deliver: Deliver, standins: StandIns, origin: Path, new_app: Stage
) -> None:
    result = deliver(
        standins,
        REPO_URL=str(origin),
        STANDIN_FAIL="cf push#1",
        E2E_STAGING_URL=new_app.url,
        E2E_PROD_URL=new_app.url,
        **SETTINGS,
    )

    assert result.returncode == 1
    assert "pipeline failed at step 4/9: push to staging:" in result.stderr
    assert steps_passed(result.stdout) == [1, 2, 3]
    assert standins.argvs("cf")[-2:] == [STAGING_TARGET, PUSH_STAGING]
    assert PROD_TARGET not in standins.argvs("cf")
    assert release_tags(origin) == []
    assert not list(result.tmpdir.glob("deliver-*"))


def test_failing_e2e_on_staging_stops_before_production(
    deliver: Deliver, standins: StandIns, origin: Path, old_app: Stage, new_app: Stage
) -> None:
    result = deliver(
        standins,
        REPO_URL=str(origin),
        # Staging still answers with the release before: the journeys see the old version.
        E2E_STAGING_URL=old_app.url,
        E2E_PROD_URL=new_app.url,
        **SETTINGS,
    )

    assert result.returncode == 1
    assert "pipeline failed at step 5/9: e2e on staging:" in result.stderr
    assert "E2E_EXPECT_VERSION" in result.stdout
    assert "failed" in result.stdout  # pytest's report of the journeys
    assert standins.argvs("cf")[-1] == PUSH_STAGING
    assert PROD_TARGET not in standins.argvs("cf")
    assert release_tags(origin) == []


def test_a_failed_production_smoke_test_rolls_back_to_the_previous_revision(
    deliver: Deliver, standins: StandIns, origin: Path, old_app: Stage, new_app: Stage
) -> None:
    result = deliver(
        standins,
        REPO_URL=str(origin),
        STANDIN_DEPLOYED_REVISION="41",
        E2E_STAGING_URL=new_app.url,
        E2E_PROD_URL=old_app.url,
        **SETTINGS,
    )

    assert result.returncode == 1
    assert "pipeline failed at step 8/9: e2e smoke on production:" in result.stderr
    assert "production was rolled back: rolled back to revision 41" in result.stderr
    assert standins.argvs("cf")[-3:] == [
        ["curl", "/v3/apps/standin-app-guid/revisions/deployed"],
        PUSH_PROD,
        ["rollback", "example-app", "--version", "41", "-f"],
    ]
    # The failed release is not published.
    assert release_tags(origin) == []


def test_a_failed_first_production_release_is_stopped(
    deliver: Deliver, standins: StandIns, origin: Path, old_app: Stage, new_app: Stage
) -> None:
    result = deliver(
        standins,
        REPO_URL=str(origin),
        STANDIN_FAIL="cf app",  # no such app in production yet
        E2E_STAGING_URL=new_app.url,
        E2E_PROD_URL=old_app.url,
        **SETTINGS,
    )

    assert result.returncode == 1
    assert "pipeline failed at step 8/9: e2e smoke on production:" in result.stderr
    assert "no earlier release to go back to: stopped the app" in result.stderr
    assert standins.argvs("cf")[-3:] == [
        ["app", "example-app", "--guid"],
        PUSH_PROD,
        ["stop", "example-app"],
    ]


def test_without_revisions_a_rollback_pushes_the_previous_release_again(
    deliver: Deliver, standins: StandIns, origin: Path, old_app: Stage, new_app: Stage
) -> None:
    new_version = served_version(new_app)
    old_version = version_of_origin(origin)
    git("tag", "--annotate", "--message", "an earlier release", f"v{old_version}", cwd=origin)
    result = deliver(
        standins,
        REPO_URL=str(origin),
        STANDIN_DEPLOYED_REVISION="none",
        E2E_STAGING_URL=new_app.url,
        E2E_PROD_URL=old_app.url,
        **SETTINGS,
    )

    assert result.returncode == 1
    assert f"production was rolled back: re-pushed the previous release v{old_version}" in (
        result.stderr
    )
    last_two = [call for call in standins.calls("cf") if call["argv"][0] == "push"][-2:]
    assert [call["argv"] for call in last_two] == [PUSH_PROD, PUSH_PROD]
    new_push, re_push = (yaml.safe_load(call["manifest"]) for call in last_two)
    assert new_push["applications"][0]["env"]["VERSION"] == new_version
    assert re_push["applications"][0]["env"]["VERSION"] == old_version
    assert re_push["applications"][0]["routes"] == [{"route": SETTINGS["CF_PROD_ROUTE"]}]
    assert last_two[1]["cwd"] != last_two[0]["cwd"]  # from a checkout of the old tag
    assert release_tags(origin) == [f"v{old_version}"]


def version_of_origin(origin: Path) -> str:
    checkout = origin.parent / "read-version"
    git("clone", "--quiet", str(origin), str(checkout), cwd=origin.parent)
    return version_of(checkout)


def test_a_dry_run_prints_every_command_in_order_and_runs_none(
    deliver: Deliver, standins: StandIns, origin: Path, new_version: str
) -> None:
    # As `make deliver TARGET=cf DRY_RUN=1` on a clean clone: no cf settings at all.
    result = deliver(standins, TARGET="cf", DRY_RUN="1")

    assert result.returncode == 0
    assert steps_passed(result.stdout) == list(range(1, 10))
    lines = result.stdout.splitlines()
    order = [
        "  $ bump-my-version bump patch",
        "  $ cf target -o '<CF_STAGING_ORG>' -s '<CF_STAGING_SPACE>'",
        "  $ cf push example-app -f manifest.staging.yml --strategy rolling",
        f"  $ E2E_BASE_URL='https://<CF_STAGING_ROUTE>' E2E_EXPECT_VERSION={new_version}"
        " PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 pytest e2e/journeys",
        "  $ cf target -o '<CF_PROD_ORG>' -s '<CF_PROD_SPACE>'",
        "  $ cf push example-app -f manifest.production.yml --strategy rolling",
        f"  $ E2E_BASE_URL='https://<CF_PROD_ROUTE>' E2E_EXPECT_VERSION={new_version}"
        " PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 pytest e2e/journeys",
    ]
    positions = [lines.index(line) for line in order]
    assert positions == sorted(positions)
    assert any(line.startswith("  $ tox run -e ") for line in lines)
    assert any(line.startswith("  $ git push --atomic ") for line in lines)
    # Nothing ran: no call reached the stand-ins, no workspace, nothing pushed anywhere.
    assert standins.calls() == []
    assert list(result.tmpdir.iterdir()) == []
    assert release_tags(origin) == []
