"""bump-my-version (pyproject.toml, [tool.bumpversion]) changes the version everywhere it
lives, and nothing else, then commits and tags."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from e2e.pipeline.conftest import bump, git

# Where the version lives, and the one line in each that holds it.
VERSION_LINES = {
    "example_app/__init__.py": '__version__ = "{}"',
    "manifest.yml": "      VERSION: {}",
    "example_app/openapi.yaml": "  version: {}",
}


def versions(checkout: Path) -> dict[str, str]:
    package = re.search(
        r'__version__ = "([^"]+)"', (checkout / "example_app/__init__.py").read_text()
    )
    assert package is not None
    manifest = yaml.safe_load((checkout / "manifest.yml").read_text())
    document = yaml.safe_load((checkout / "example_app/openapi.yaml").read_text())
    config = tomllib.loads((checkout / "pyproject.toml").read_text())
    return {
        "package": package.group(1),
        "manifest": str(manifest["applications"][0]["env"]["VERSION"]),
        "openapi": str(document["info"]["version"]),
        "bump-my-version": config["tool"]["bumpversion"]["current_version"],
    }


def next_version(version: str, part: str) -> str:
    major, minor, patch = (int(number) for number in version.split("."))
    return {
        "patch": f"{major}.{minor}.{patch + 1}",
        "minor": f"{major}.{minor + 1}.0",
        "major": f"{major + 1}.0.0",
    }[part]


@pytest.fixture
def checkout(origin: Path, tmp_path: Path) -> Path:
    directory = tmp_path / "checkout"
    git("clone", "--quiet", str(origin), str(directory), cwd=tmp_path)
    return directory


def test_every_place_holds_the_same_version_to_begin_with(checkout: Path) -> None:
    assert len(set(versions(checkout).values())) == 1, versions(checkout)


def test_patch_minor_and_major_bumps_change_every_place_commit_and_tag(checkout: Path) -> None:
    version = versions(checkout)["package"]
    for part in ("patch", "minor", "major"):
        before = git("rev-parse", "HEAD", cwd=checkout)
        bump(checkout, part)
        new = next_version(version, part)

        assert set(versions(checkout).values()) == {new}, (part, versions(checkout))
        assert git("status", "--porcelain", cwd=checkout) == ""  # all of it committed
        assert git("rev-parse", "HEAD~1", cwd=checkout) == before
        assert git("log", "-1", "--format=%s", cwd=checkout) == f"Bump version: {version} → {new}"
        # An annotated tag on the bump commit, found by `git describe` as a release.
        assert git("tag", "--points-at", "HEAD", cwd=checkout) == f"v{new}"
        assert git("cat-file", "-t", f"v{new}", cwd=checkout) == "tag"
        assert git("describe", "--tags", "--abbrev=0", cwd=checkout) == f"v{new}"
        version = new


def test_a_bump_changes_only_the_version_lines(checkout: Path) -> None:
    old = git("rev-parse", "HEAD", cwd=checkout)
    version = versions(checkout)["package"]
    bump(checkout, "patch")
    new = next_version(version, "patch")

    diff = git("diff", "--unified=0", old, "HEAD", cwd=checkout)
    changed = {
        name: [line for line in diff_of(diff, name) if line[:1] in "+-"]
        for name in [*VERSION_LINES, "pyproject.toml"]
    }
    for name, template in VERSION_LINES.items():
        assert changed[name] == ["-" + template.format(version), "+" + template.format(new)]
    assert changed["pyproject.toml"] == [
        f'-current_version = "{version}"',
        f'+current_version = "{new}"',
    ]
    files = git("diff", "--name-only", old, "HEAD", cwd=checkout).splitlines()
    assert sorted(files) == sorted([*VERSION_LINES, "pyproject.toml"])


def diff_of(diff: str, name: str) -> list[str]:
    """The changed lines of one file in a `git diff --unified=0`, without the headers."""
    lines: list[str] = []
    inside = False
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            inside = line.endswith(f" b/{name}")
        elif inside and not line.startswith(("---", "+++", "@@", "index ")):
            lines.append(line)
    return lines
