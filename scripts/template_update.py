#!/usr/bin/env python3
"""Follow the template a service was generated from.

    make template-status    how many template commits this service is behind, and which
    make template-update    merge them in (TEMPLATE=path-or-URL, REF=branch-or-tag optional)

How: a generated service keeps the template's own line of history beside its own. Its
first commit is the template's tree, renamed (by the template's scripts/new_service.py,
which leaves out the template's own parts). Each update adds one commit to that line, the
renamed tree of the template's newer commit with the previous one as parent, and merges
it. So git does a real three-way merge: the base is the renamed template the service last
took, one side the service, the other the renamed newer template. What the service
changed stays, what the template changed comes in, and where both changed the same lines
git stops with conflict markers for the user to resolve: nothing here ever resolves a
conflict.

.template.json names the template (path or URL), the template commit the service follows
and the service's name. It travels with the merge, so it moves on only when the merge is
committed. Each commit of the template's line carries a `Template-Commit: <sha>` trailer:
that is how the base is found again, from any clone of the service; the `template` branch
points to the newest one, to look at.

The template is read from a temporary bare clone, and renamed by the template's own
scripts/new_service.py at the newer commit, so renaming rules improve with the template.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

RECORD_FILE = ".template.json"
COMMIT_TRAILER = "Template-Commit"
BRANCH = "template"
RENDERER = "scripts/new_service.py"
# Longer lists are cut, with a count of the rest.
LISTED_COMMITS = 30


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class Stop(Exception):
    """The command cannot go on; the message says why and what to do."""


def git(*args: str, cwd: Path, check: bool = True, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, env=env
    )
    if check and result.returncode != 0:
        raise Stop(f"git {' '.join(args[:2])} failed in {cwd}:\n{result.stderr.strip()}")
    return result.stdout.strip()


@dataclass(frozen=True)
class Record:
    """What .template.json says at the service's HEAD."""

    template: str
    template_name: str
    commit: str
    name: str

    @classmethod
    def at_head(cls, root: Path) -> Record:
        text = git("show", f"HEAD:{RECORD_FILE}", cwd=root, check=False)
        if not text:
            raise Stop(
                f"no {RECORD_FILE} in this branch's last commit: only a service made with "
                "`make new-service` follows a template (is this the template itself?)"
            )
        data = json.loads(text)
        return cls(data["template"], data["template_name"], data["template_commit"], data["name"])


@dataclass(frozen=True)
class Template:
    """A bare clone of the template, and where its REF stands relative to the record."""

    clone: Path
    origin: str
    target: str
    recorded: str

    @classmethod
    def fetch(cls, origin: str, ref: str, recorded: str, into: Path) -> Template:
        clone = into / "template.git"
        result = subprocess.run(
            ["git", "clone", "--bare", "--quiet", origin, str(clone)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode:
            raise Stop(
                f"cannot read the template at {origin}:\n{result.stderr.strip()}\n"
                "If it has moved, give its new place: make template-update TEMPLATE=path-or-URL"
            )
        target = git(
            "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=clone, check=False
        )
        if not target:
            raise Stop(f"the template at {origin} has no {ref}")
        if git("cat-file", "-t", recorded, cwd=clone, check=False) != "commit":
            raise Stop(
                f"the template at {origin} does not have commit {recorded}, which this service "
                "follows: was its history rewritten? Give the right one with TEMPLATE=..."
            )
        return cls(clone, origin, target, recorded)

    def newer_commits(self) -> list[str]:
        """The template's commits since the recorded one, newest first, one line each."""
        log = git(
            "log", "--format=%h %ad %s", "--date=short", f"{self.recorded}..{self.target}",
            cwd=self.clone,
        )  # fmt: skip
        return log.splitlines()

    def contains_recorded(self) -> bool:
        ancestry = ["git", "merge-base", "--is-ancestor", self.recorded, self.target]
        return subprocess.run(ancestry, cwd=self.clone, check=False).returncode == 0


def report(record: Record, template: Template, ref: str, command: str) -> list[str]:
    """Print how far behind the template the service is; return the newer commits."""
    commits = template.newer_commits()
    print(
        f"{command}: {record.name} follows {record.template_name} at {record.commit[:12]}, "
        f"from {template.origin}"
    )
    if not template.contains_recorded():
        print(
            f"{command}: note: the template's {ref} ({template.target[:12]}) does not contain "
            "that commit: the count below is of its commits this service has not seen"
        )
    if not commits:
        print(f"{command}: 0 commits behind the template's {ref}: up to date")
        return commits
    print(
        f"{command}: {plural(len(commits), 'commit')} behind the template's {ref} "
        f"({template.target[:12]}):"
    )
    for line in commits[:LISTED_COMMITS]:
        print(f"  {line}")
    if len(commits) > LISTED_COMMITS:
        print(f"  ... and {len(commits) - LISTED_COMMITS} more")
    return commits


# --- template-update -----------------------------------------------------------------------


def check_ready(root: Path) -> None:
    git_dir = Path(git("rev-parse", "--absolute-git-dir", cwd=root))
    if (git_dir / "MERGE_HEAD").exists():
        raise Stop(
            "a merge is in progress: finish it (`git merge --continue`) or abort it "
            "(`git merge --abort`) first"
        )
    if git("status", "--porcelain", "--untracked-files=no", cwd=root):
        raise Stop("this service has uncommitted changes: commit or stash them first")


def template_line_base(root: Path, commit: str) -> str:
    """The commit of the template's line, in HEAD's history, that holds the renamed tree of
    the template commit the service follows: the base of the three-way merge."""
    base = git(
        "log", "-1", "--format=%H", "--extended-regexp",
        f"--grep=^{COMMIT_TRAILER}: {commit}$", "HEAD",
        cwd=root,
    )  # fmt: skip
    if not base:
        raise Stop(
            f"no commit with the trailer `{COMMIT_TRAILER}: {commit}` in this branch's history, "
            "so there is no base to merge the template's changes against (was the history "
            "rewritten or squashed?)"
        )
    return base


def render(template: Template, record: Record, into: Path) -> Path:
    """The renamed tree of the template's target commit, by that commit's own renderer."""
    renderer = into / "new_service.py"
    renderer.write_text(git("show", f"{template.target}:{RENDERER}", cwd=template.clone) + "\n")
    out = into / "tree"
    out.mkdir()
    command = [
        sys.executable, str(renderer), record.name, "--render", str(out),
        "--source", str(template.clone), "--commit", template.target,
        "--template", template.origin,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    sys.stderr.write(result.stderr)
    if result.returncode:
        raise Stop(f"the template's {RENDERER} could not render {template.target[:12]}")
    return out


def commit_tree(root: Path, tree_dir: Path, parent: str, message: str, scratch: Path) -> str:
    """Commit the directory's files as a child of `parent`, leaving the service's index and
    working tree alone."""
    env = {**os.environ, "GIT_INDEX_FILE": str(scratch / "index")}
    git_dir = git("rev-parse", "--absolute-git-dir", cwd=root)
    in_tree = ("--git-dir", git_dir, "--work-tree", str(tree_dir))
    git(*in_tree, "add", "--all", "--force", ".", cwd=tree_dir, env=env)
    tree = git(*in_tree, "write-tree", cwd=tree_dir, env=env)
    return git("commit-tree", tree, "-p", parent, "-m", message, cwd=root)


def move_branch(root: Path, commit: str) -> None:
    """Point the `template` branch at the newest commit of the template's line, unless the
    branch is something else of the same name."""
    current = git("rev-parse", "--verify", "--quiet", f"refs/heads/{BRANCH}", cwd=root, check=False)
    message = git("log", "-1", "--format=%B", current, cwd=root) if current else ""
    if not current or f"\n{COMMIT_TRAILER}: " in message:
        git("update-ref", f"refs/heads/{BRANCH}", commit, cwd=root)


def update(root: Path, origin: str | None, ref: str) -> int:
    command = "template-update"
    check_ready(root)
    record = Record.at_head(root)
    base = template_line_base(root, record.commit)
    with tempfile.TemporaryDirectory(prefix="template-update.") as scratch_name:
        scratch = Path(scratch_name)
        template = Template.fetch(origin or record.template, ref, record.commit, scratch)
        commits = report(record, template, ref, command)
        if template.target == record.commit:
            return 0
        tree_dir = render(template, record, scratch)
        shown = "\n".join(commits[:LISTED_COMMITS])
        message = (
            f"Template {record.template_name} {template.target[:12]}: "
            f"{plural(len(commits), 'commit')} since {record.commit[:12]}\n\n{shown}\n\n"
            f"Template: {template.origin}\n{COMMIT_TRAILER}: {template.target}\n"
        )
        newest = commit_tree(root, tree_dir, base, message, scratch)
    move_branch(root, newest)

    merge = subprocess.run(
        [
            "git", "merge", "--no-ff", "--no-edit", "--no-rerere-autoupdate", "-m",
            f"Merge the {record.template_name} template, {record.commit[:12]}.."
            f"{template.target[:12]}",
            newest,
        ],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    conflicted = git("diff", "--name-only", "--diff-filter=U", cwd=root).splitlines()
    if merge.returncode == 0:
        print(
            f"{command}: merged; {RECORD_FILE} now records {template.target[:12]}. "
            "Run `make test`, then push."
        )
        return 0
    print(merge.stdout + merge.stderr, end="", file=sys.stderr)
    if not conflicted:
        raise Stop("git could not merge the template's changes (its message is above)")
    files = "\n".join(f"    {path}" for path in conflicted)
    print(
        f"{command}: CONFLICT: the template's changes and this service's overlap in "
        f"{plural(len(conflicted), 'file')}:\n{files}\n"
        "  Nothing was resolved for you. In each file keep what is right between the\n"
        "  <<<<<<< and >>>>>>> markers and `git add` it (a file one side deleted: `git rm`\n"
        "  or `git add` it), then `git merge --continue` commits the merge\n"
        f"  ({RECORD_FILE} then records {template.target[:12]}).\n"
        "  `git merge --abort` puts everything back as it was.",
        file=sys.stderr,
    )
    return 1


def status(root: Path, origin: str | None, ref: str) -> int:
    record = Record.at_head(root)
    with tempfile.TemporaryDirectory(prefix="template-status.") as scratch:
        template = Template.fetch(origin or record.template, ref, record.commit, Path(scratch))
        if report(record, template, ref, "template-status"):
            print("template-status: `make template-update` merges them")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("command", choices=["status", "update"])
    parser.add_argument("--template", help="the template's path or URL, when it has moved")
    parser.add_argument("--ref", default="HEAD", help="the template's branch or tag to follow")
    args = parser.parse_args(argv)
    try:
        root = Path(git("rev-parse", "--show-toplevel", cwd=Path.cwd()))
        return (update if args.command == "update" else status)(root, args.template, args.ref)
    except Stop as stop:
        print(f"template-{args.command}: {stop}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
