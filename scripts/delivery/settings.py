"""The pipeline's settings: each from a flag, else from the environment variable of the
same name (CI systems set those), else a default. Secrets (CF_PASSWORD) are read by `cf`
itself from the environment, never passed as flags or printed."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Variable -> what it means. Each is also a flag: CF_STAGING_ORG is --cf-staging-org.
VARIABLES = {
    "TARGET": "where to deliver: cf (Cloud Foundry, through the cf CLI) or local",
    "DRY_RUN": "print every command in order and run none of them (DRY_RUN=1)",
    "BUMP": "the version part to bump: patch (default), minor or major",
    "REPO_URL": "the repository to deliver (default: this one); the release is pushed to it",
    "BRANCH": "the branch to deliver (default: the repository's current branch)",
    "KEEP_WORKSPACE": "keep the temporary checkout and the local platform's logs (=1)",
    "TOX_ENVS": "the tox envs to run (default: tox.ini's env_list but pipeline)",
    "PIPELINE_TOX_WORKDIR": "a directory for tox's envs that outlives the run (a CI cache)",
    "CF_API": "the Cloud Foundry API URL (`cf api`); unset: use the CLI's current one",
    "CF_STAGING_ORG": "the staging org",
    "CF_STAGING_SPACE": "the staging space",
    "CF_STAGING_ROUTE": "the staging route, e.g. example-app-staging.apps.example.com",
    "CF_PROD_ORG": "the production org",
    "CF_PROD_SPACE": "the production space",
    "CF_PROD_ROUTE": "the production route, e.g. example-app.apps.example.com",
    "E2E_STAGING_URL": "the URL the e2e tests use for staging (default: https://ROUTE)",
    "E2E_PROD_URL": "the URL the smoke tests use for production (default: https://ROUTE)",
    "LOCAL_STAGING_PORT": "local mode: staging's port on 127.0.0.1 (default: a free one)",
    "LOCAL_PROD_PORT": "local mode: production's port on 127.0.0.1 (default: a free one)",
}
CF_REQUIRED = (
    "CF_STAGING_ORG",
    "CF_STAGING_SPACE",
    "CF_STAGING_ROUTE",
    "CF_PROD_ORG",
    "CF_PROD_SPACE",
    "CF_PROD_ROUTE",
)
# Flags without a value: --dry-run is DRY_RUN=1.
SWITCHES = ("DRY_RUN", "KEEP_WORKSPACE")
TARGETS = ("cf", "local")
BUMPS = ("patch", "minor", "major")
_FALSE = ("", "0", "false", "no")


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    values: Mapping[str, str]

    def get(self, name: str) -> str | None:
        return self.values.get(name) or None

    def flag(self, name: str) -> bool:
        return (self.values.get(name) or "").strip().lower() not in _FALSE

    def port(self, name: str) -> int | None:
        raw = self.get(name)
        if raw is None:
            return None
        if not raw.isdigit() or not 1 <= int(raw) <= 65535:
            raise SettingsError(f"{name} must be a port number, got {raw!r}")
        return int(raw)

    @property
    def target(self) -> str:
        return self.values["TARGET"]

    @property
    def dry_run(self) -> bool:
        return self.flag("DRY_RUN")

    @property
    def bump(self) -> str:
        return self.values["BUMP"]

    def e2e_url(self, stage: str) -> str | None:
        """E2E_STAGING_URL or E2E_PROD_URL: where the e2e tests reach a stage, when that is
        not the stage's own address (a proxy in front, or a test pointing elsewhere)."""
        return self.get("E2E_STAGING_URL" if stage == "staging" else "E2E_PROD_URL")


def parse(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> Settings:
    parser = argparse.ArgumentParser(
        prog="deliver.py",
        description="Deliver the service: clean checkout, every test tier, version bump, "
        "staging, e2e, production, smoke test, push the release. Every setting is a "
        "flag or the environment variable named in capitals.",
    )
    for name, meaning in VARIABLES.items():
        flag = "--" + name.lower().replace("_", "-")
        if name in SWITCHES:
            parser.add_argument(flag, dest=name, help=meaning, action="store_const", const="1")
        else:
            parser.add_argument(flag, dest=name, help=meaning, metavar="VALUE")
    arguments = vars(parser.parse_args(argv))
    values = {
        name: (arguments[name] if arguments[name] is not None else environ.get(name, "")).strip()
        for name in VARIABLES
    }
    values["BUMP"] = values["BUMP"] or "patch"
    settings = Settings(values)
    if settings.target not in TARGETS:
        raise SettingsError(f"TARGET must be one of {', '.join(TARGETS)}, got {settings.target!r}")
    if settings.bump not in BUMPS:
        raise SettingsError(f"BUMP must be one of {', '.join(BUMPS)}, got {settings.bump!r}")
    missing = [name for name in CF_REQUIRED if not settings.get(name)]
    if settings.target == "cf" and missing and not settings.dry_run:
        raise SettingsError("TARGET=cf needs " + ", ".join(missing))
    for name in ("LOCAL_STAGING_PORT", "LOCAL_PROD_PORT"):
        settings.port(name)
    return settings
