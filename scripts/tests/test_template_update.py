"""`make template-status` and `make template-update`: a generated service says how far
behind its template it is, and takes the template's later commits by a real three-way
merge: its own changes kept, the template's brought across renamed, conflicts left to the
user with a clear message and a non-zero exit."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Run, template_name

Git = Callable[..., str]


def snake(name: str) -> str:
    return name.replace("-", "_")


class Project:
    """A template repository, and a service generated from it."""

    def __init__(self, template: Path, service: Path, run: Run, git: Git) -> None:
        self.template, self.service, self.run, self.git = template, service, run, git
        self.old = template_name(template)
        self.new = service.name

    def make(self, target: str, *variables: str) -> tuple[int, str]:
        result = self.run("make", "--no-print-directory", target, *variables, cwd=self.service)
        return result.returncode, result.stdout + result.stderr

    def status(self, *variables: str) -> str:
        code, output = self.make("template-status", *variables)
        assert code == 0, output
        return output

    def commit(self, repo: Path, message: str, **files: str) -> str:
        """Write files (by path, with `pkg` for the package's directory) and commit them."""
        package = snake(self.old if repo == self.template else self.new)
        for path, text in files.items():
            target = repo / path.replace("pkg/", f"{package}/")
            target.write_text(text)
            self.git("add", target, cwd=repo)
        self.git("commit", "--quiet", "--message", message, cwd=repo)
        return self.git("rev-parse", "HEAD", cwd=repo)

    def replace_line(self, repo: Path, path: str, start: str, line: str, message: str) -> None:
        text = (repo / path).read_text()
        old = next(each for each in text.splitlines() if each.startswith(start))
        self.commit(repo, message, **{path: text.replace(old, line, 1)})

    def recorded(self) -> str:
        record = json.loads(self.git("show", "HEAD:.template.json", cwd=self.service))
        assert isinstance(record["template_commit"], str)
        return record["template_commit"]


@pytest.fixture
def project(
    new_template: Callable[[], Path],
    generate: Callable[[Path, Path], Path],
    tmp_path: Path,
    run: Run,
    git: Git,
) -> Project:
    template = new_template()
    return Project(template, generate(template, tmp_path), run, git)


def test_an_update_brings_the_template_change_across_and_keeps_the_service_own(
    project: Project, git: Git
) -> None:
    assert "0 commits behind the template's HEAD: up to date" in project.status()
    # The service's own work: a version of its own and a file of its own.
    version = f"{snake(project.new)}/__init__.py"
    text = (project.service / version).read_text()
    project.commit(
        project.service,
        "Release 0.2.0",
        **{version: text.replace('"0.1.0"', '"0.2.0"'), "NOTES.md": "Ours.\n"},
    )
    # The template's improvement, naming itself, in a new file and in the README.
    readme = (project.template / "README.md").read_text()
    newest = project.commit(
        project.template,
        "Add a greeting",
        **{
            "pkg/greeting.py": f'"""{project.old} greets, from {snake(project.old)}."""\n',
            "README.md": readme + f"\n`{snake(project.old)}/greeting.py` greets.\n",
        },
    )

    status = project.status()
    assert re.search(
        r"1 commit behind the template's HEAD \(\w+\):\n  \w+ [-\d]+ Add a greeting", status
    )
    assert f"follows {project.old} at {project.recorded()[:12]}" in status
    code, output = project.make("template-update")
    assert code == 0, output
    assert "merged; .template.json now records" in output

    service = project.service
    greeting = service / snake(project.new) / "greeting.py"
    assert greeting.read_text() == f'"""{project.new} greets, from {snake(project.new)}."""\n'
    assert (
        (service / "README.md")
        .read_text()
        .endswith(f"\n`{snake(project.new)}/greeting.py` greets.\n")
    )
    assert '__version__ = "0.2.0"' in (service / version).read_text()
    assert (service / "NOTES.md").read_text() == "Ours.\n"
    assert project.recorded() == newest
    assert git("status", "--porcelain", cwd=service) == ""
    # A merge commit, whose second parent is the template's line, named `template`.
    parents = git("log", "-1", "--format=%P", cwd=service).split()
    assert len(parents) == 2
    assert parents[1] == git("rev-parse", "template", cwd=service)
    assert f"Template-Commit: {newest}" in git("log", "-1", "--format=%B", parents[1], cwd=service)
    assert "0 commits behind the template's HEAD: up to date" in project.status()


def test_each_update_merges_against_the_last_one(project: Project) -> None:
    """The second update's base is the template the first brought, not the original: the
    template's change to its own new file comes across with no conflict."""
    project.commit(project.template, "Add a greeting", **{"pkg/greeting.py": "HELLO = 1\n"})
    assert project.make("template-update")[0] == 0
    project.commit(project.template, "Greet louder", **{"pkg/greeting.py": "HELLO = 2\n"})
    project.commit(project.template, "Document it", **{"pkg/greeting.py": "HELLO = 2  # loud\n"})
    assert "2 commits behind" in project.status()

    code, output = project.make("template-update")
    assert code == 0, output
    greeting = project.service / snake(project.new) / "greeting.py"
    assert greeting.read_text() == "HELLO = 2  # loud\n"
    assert "0 commits behind" in project.status()


def conflict(project: Project) -> tuple[int, str, str]:
    """The same README line changed one way in the template and another in the service;
    then an update. Its exit code and output, and the service's HEAD before it."""
    start = "On a fresh Debian"
    for repo, wording in ((project.template, "template"), (project.service, "service")):
        project.replace_line(repo, "README.md", start, f"{start} ({wording} wording):", wording)
    before = project.git("rev-parse", "HEAD", cwd=project.service)
    return (*project.make("template-update"), before)


def test_a_conflict_is_left_for_the_user_with_a_clear_message(project: Project, git: Git) -> None:
    code, output, before = conflict(project)

    assert code != 0
    assert "CONFLICT: the template's changes and this service's overlap in 1 file:" in output
    assert "\n    README.md\n" in output
    assert "Nothing was resolved for you" in output
    assert "`git merge --continue`" in output
    assert "`git merge --abort`" in output
    # The merge is in progress, with both sides' lines between markers.
    service = project.service
    assert git("diff", "--name-only", "--diff-filter=U", cwd=service) == "README.md"
    readme = (service / "README.md").read_text()
    assert "<<<<<<< HEAD\nOn a fresh Debian (service wording):\n=======\n" in readme
    assert "On a fresh Debian (template wording):\n>>>>>>> " in readme
    assert git("rev-parse", "HEAD", cwd=service) == before
    code, again = project.make("template-update")
    assert code != 0
    assert "a merge is in progress" in again

    # The user resolves it and finishes the merge: the service is then up to date.
    (service / "README.md").write_text(
        re.sub(r"<<<<<<< HEAD\n(.*?\n)=======\n.*?>>>>>>> \w+\n", r"\1", readme, flags=re.S)
    )
    git("add", "README.md", cwd=service)
    git("merge", "--continue", cwd=service)
    assert "On a fresh Debian (service wording):" in (service / "README.md").read_text()
    assert project.recorded() == git("rev-parse", "HEAD", cwd=project.template)
    assert "0 commits behind" in project.status()


def test_an_aborted_merge_leaves_the_service_as_it_was(project: Project, git: Git) -> None:
    code, _, before = conflict(project)
    assert code != 0
    service = project.service
    git("merge", "--abort", cwd=service)
    assert git("rev-parse", "HEAD", cwd=service) == before
    assert git("status", "--porcelain", cwd=service) == ""
    assert "1 commit behind" in project.status()


def test_an_update_waits_for_uncommitted_changes(project: Project, git: Git) -> None:
    project.commit(project.template, "Add a greeting", **{"pkg/greeting.py": "HELLO = 1\n"})
    (project.service / "README.md").write_text("work in progress\n")
    before = git("rev-parse", "HEAD", cwd=project.service)
    code, output = project.make("template-update")
    assert code != 0
    assert "uncommitted changes: commit or stash them first" in output
    assert git("rev-parse", "HEAD", cwd=project.service) == before
    assert (project.service / "README.md").read_text() == "work in progress\n"


def test_an_update_when_up_to_date_changes_nothing(project: Project, git: Git) -> None:
    before = git("rev-parse", "HEAD", cwd=project.service)
    code, output = project.make("template-update")
    assert code == 0, output
    assert "up to date" in output
    assert git("rev-parse", "HEAD", cwd=project.service) == before


def test_any_clone_of_the_service_can_update(project: Project, git: Git, tmp_path: Path) -> None:
    """The base is found from the history itself, not from a branch only one clone has."""
    clone = tmp_path / "teammate"
    git("clone", "--quiet", project.service, clone, cwd=tmp_path)
    project.commit(project.template, "Add a greeting", **{"pkg/greeting.py": "HELLO = 1\n"})
    teammate = Project(project.template, clone, project.run, git)
    teammate.new = project.new
    code, output = teammate.make("template-update")
    assert code == 0, output
    assert (clone / snake(project.new) / "greeting.py").read_text() == "HELLO = 1\n"


def test_a_moved_template_is_named_once_with_template(project: Project, tmp_path: Path) -> None:
    moved = tmp_path / "moved-template"
    shutil.move(project.template, moved)
    code, output = project.make("template-status")
    assert code != 0
    assert f"cannot read the template at {project.template}" in output
    assert "TEMPLATE=path-or-URL" in output

    project.template = moved
    project.commit(moved, "Add a greeting", **{"pkg/greeting.py": "HELLO = 1\n"})
    assert "1 commit behind" in project.status(f"TEMPLATE={moved}")
    code, output = project.make("template-update", f"TEMPLATE={moved}")
    assert code == 0, output
    # Recorded: from now on the plain command finds it.
    record = json.loads((project.service / ".template.json").read_text())
    assert record["template"] == str(moved)
    assert "0 commits behind" in project.status()


def test_a_repository_with_no_record_has_nothing_to_follow(project: Project, git: Git) -> None:
    template = project.template
    if (template / ".template.json").exists():  # a template that was generated itself
        git("rm", "--quiet", ".template.json", cwd=template)
        git("commit", "--quiet", "--message", "Stand alone", cwd=template)
    result = project.run("make", "template-status", cwd=template)
    assert result.returncode != 0
    assert "no .template.json in this branch's last commit" in result.stderr


def test_an_update_leaves_the_template_only_parts_out(project: Project) -> None:
    """An update renders the template as `make new-service` does: a change to the template's
    own parts (its Spring baseline, a template-only block) does not come across."""
    readme = (project.template / "README.md").read_text()
    block = "<!-- template-only: begin -->\nThe template's alone.\n<!-- template-only: end -->\n"
    project.commit(
        project.template,
        "Template news",
        **{
            "benchmark/spring/NOTES.md": "Spring notes.\n",
            "README.md": f"{readme}\n{block}For every service.\n",
        },
    )
    code, output = project.make("template-update")
    assert code == 0, output
    assert (project.service / "README.md").read_text().endswith("\nFor every service.\n")
    assert not (project.service / "benchmark" / "spring").exists()
