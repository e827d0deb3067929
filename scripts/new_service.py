#!/usr/bin/env python3
"""Start a new service from this one: `make new-service NAME=billing-api DEST=../billing-api`.

The new service is this repository's committed tree (HEAD: never the working directory's
untracked or uncommitted files) with the template's name replaced in every form, in file
contents and in paths:

    kebab-case   app name, routes, Redis binding, OpenAPI and README titles  billing-api
    snake_case   the package, its imports, tool settings that name it         billing_api
    UPPER_CASE   environment-style names                                       BILLING_API
    Title Case   prose titles                                                  Billing Api
    CamelCase    class-style names                                             BillingApi

The template's name is pyproject.toml's `[project] name`, so nothing here names it. The
version is reset to 0.1.0 wherever it lives; binary files are copied untouched. Python
files stay lint-clean: imports that name the package are re-sorted (the new name may sort
elsewhere), and the project's ruff re-wraps lines that a longer or shorter name moved
across the line-length limit.

What is the template's alone stays behind: the paths in TEMPLATE_ONLY (its showcase, this
generator and its tests), and in text files every block of lines from a
`template-only: begin` marker to a `template-only: end` one (the Makefile's, tox.ini's
and the READMEs' words about them). The rest adapts to what is there (`make bench`
builds the Spring baseline only where it is).

DEST gets a fresh git history: one commit, "Generated from <template> <commit>", and
`.template.json` records the template (path or URL) and commit, for
`make template-update` (scripts/template_update.py).

Every refusal (bad NAME, existing DEST, ...) comes before anything is written. DEST's
missing parent directories are made, as `git clone` does; the tree is built beside DEST
and moved into place only when complete, so a failure leaves no half-made service (and
no directory made for it) behind.

`--render` is the step `make template-update` reuses (with this file as it is at the
template's newer commit: a generated service has no copy): it writes the renamed tree of
any template commit into an empty directory, with no git history. Standard library only.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import keyword
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

NEW_VERSION = "0.1.0"
# The file in a generated service that records where it came from (see template_update.py).
RECORD_FILE = ".template.json"
# Recognizes the line `render` puts under the README's title, to replace rather than repeat.
GENERATED_LINE = re.compile(r"^Generated from the \S+ service template\b")
# In the commit messages of the template's line of history in a generated service.
COMMIT_TRAILER = "Template-Commit"
NAME_RULE = re.compile(r"[a-z][a-z0-9-]*")
# Hostnames in routes are DNS labels.
MAX_NAME_LENGTH = 63
USAGE = "make new-service NAME=billing-api DEST=../billing-api"
# What a new service does not get: the template's showcase (the Spring baseline, the
# benchmark's recorded run and chart, its fixed-rate latency, idle pool, machine record and
# profile summary, the screenshot of the template's docs page), this generator and its
# tests. A path, or a directory ending in "/".
TEMPLATE_ONLY = (
    "benchmark/spring/",
    "benchmark/RESULTS.md",
    "benchmark/RESULTS.png",
    "benchmark/fixed_rate.py",
    "benchmark/constant_rate.py",
    "benchmark/idle_pool.py",
    "benchmark/machine.py",
    "benchmark/profile_summary.py",
    "benchmark/showcase.py",
    "docs/swagger-ui.png",
    "scripts/new_service.py",
    "scripts/tests/",
)
# A line holding the first starts a block of template-only lines, one holding the second
# ends it; both markers are left out with the block, whatever comment syntax holds them.
BLOCK_BEGIN, BLOCK_END = "template-only: begin", "template-only: end"


class Refused(Exception):
    """The request cannot be carried out; nothing has been written."""


# --- names ---------------------------------------------------------------------------------


def name_forms(name: str) -> dict[str, str]:
    """Every spelling of a kebab-case name that the tree may use, by form."""
    words = name.split("-")
    return {
        "kebab": name,
        "snake": "_".join(words),
        "upper": "_".join(words).upper(),
        "title": " ".join(word.capitalize() for word in words),
        "camel": "".join(word.capitalize() for word in words),
    }


class Renamer:
    """Replaces each form of one name with the same form of another, in one pass."""

    def __init__(self, old: str, new: str) -> None:
        old_forms, new_forms = name_forms(old), name_forms(new)
        self.table = {old_forms[form]: new_forms[form] for form in old_forms}
        # Longest first, so a form is never cut short by a shorter one it contains.
        spellings = sorted(self.table, key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(spelling) for spelling in spellings))

    def __call__(self, text: str) -> str:
        return self.pattern.sub(lambda match: self.table[match.group(0)], text)


def check_name(name: str, template_name: str, taken: set[str]) -> None:
    """Refuse a NAME that is malformed, or whose package would shadow another module."""
    if not name:
        raise Refused(f"NAME is required: {USAGE}")
    if not NAME_RULE.fullmatch(name) or name.endswith("-") or "--" in name:
        raise Refused(
            f"bad NAME {name!r}: use lowercase letters, digits and single hyphens, starting "
            "with a letter and not ending with a hyphen (for example billing-api)"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise Refused(f"bad NAME {name!r}: at most {MAX_NAME_LENGTH} characters (a route label)")
    if name == template_name:
        raise Refused(f"bad NAME {name!r}: that is the template's own name")
    package = name_forms(name)["snake"]
    if package in taken or keyword.iskeyword(package) or importlib.util.find_spec(package):
        raise Refused(
            f"bad NAME {name!r}: its package, {package}, would clash with a Python keyword, "
            "a standard or required module, or a directory of the template; choose another"
        )
    if "-" not in template_name and "-" in name:
        # One-word template names spell package and app alike: no way to tell them apart.
        raise Refused(
            f"bad NAME {name!r}: the template's name, {template_name}, is one word, so its "
            "package and app names are the same text; NAME must be one word too"
        )


def taken_names(source: Source) -> set[str]:
    """Module names a package must not take: the standard library's, the requirements',
    the template's own top-level directories (tests, scripts, ...). check_name also refuses
    any module the Python running it can import (PyYAML's `yaml`, say)."""
    taken = set(sys.stdlib_module_names) | {entry.path.split("/")[0] for entry in source.entries}
    for entry in source.entries:
        if re.fullmatch(r"requirements[^/]*\.txt", entry.path):
            for line in source.read(entry).decode("utf-8", "replace").splitlines():
                requirement = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
                if requirement and not line.lstrip().startswith("-"):
                    taken.add(re.sub(r"[-.]+", "_", requirement.group(1)).lower())
    return {name.lower() for name in taken}


# --- the template's committed tree ---------------------------------------------------------


def git(*args: str, cwd: Path, check: bool = True) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}:\n{result.stderr.strip()}")
    return result.stdout.strip()


@dataclass(frozen=True)
class Entry:
    mode: str
    kind: str
    sha: str
    path: str


class Source:
    """One commit of a template repository, read straight from git's objects."""

    def __init__(self, repo: Path, commit: str) -> None:
        self.repo = repo
        self.commit = git("rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}", cwd=repo)
        listing = subprocess.run(
            ["git", "ls-tree", "-r", "-z", "--full-tree", self.commit],
            cwd=repo,
            capture_output=True,
            check=True,
        ).stdout.decode()
        self.entries = []
        for record in filter(None, listing.split("\0")):
            meta, path = record.split("\t", 1)
            mode, kind, sha = meta.split(" ")
            self.entries.append(Entry(mode, kind, sha, path))
        self._blobs = self._read_blobs([each.sha for each in self.entries if each.kind == "blob"])

    def _read_blobs(self, shas: list[str]) -> dict[str, bytes]:
        output = subprocess.run(
            ["git", "cat-file", "--batch"],
            cwd=self.repo,
            input="".join(f"{sha}\n" for sha in shas).encode(),
            capture_output=True,
            check=True,
        ).stdout
        blobs, position = {}, 0
        for sha in shas:
            header_end = output.index(b"\n", position)
            size = int(output[position:header_end].split()[2])
            blobs[sha] = output[header_end + 1 : header_end + 1 + size]
            position = header_end + 1 + size + 1
        return blobs

    def read(self, entry: Entry) -> bytes:
        return self._blobs[entry.sha]

    def file(self, path: str) -> bytes | None:
        for entry in self.entries:
            if entry.path == path and entry.kind == "blob":
                return self.read(entry)
        return None

    def name(self) -> str:
        pyproject = self.file("pyproject.toml")
        name = tomllib.loads(pyproject.decode())["project"]["name"] if pyproject else None
        if not isinstance(name, str) or not NAME_RULE.fullmatch(name):
            raise Refused(
                f"{self.repo} is not a service template: its pyproject.toml has no "
                "[project] name in lowercase letters, digits and hyphens"
            )
        return name


# --- rendering -----------------------------------------------------------------------------


def text_of(content: bytes) -> str | None:
    """The file as text, or None for a binary file (copied untouched)."""
    if b"\0" in content:
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


class VersionReset:
    """Sets the version to 0.1.0 in each place the template keeps it."""

    def __init__(self, source: Source, rename: Renamer) -> None:
        package = name_forms(source.name())["snake"]
        rules: dict[str, list[tuple[re.Pattern[str], str]]] = {}

        def add(path: str, pattern: str, replacement: str) -> None:
            rules.setdefault(rename(path), []).append((re.compile(pattern, re.M), replacement))

        version_variable = r"^(__version__\s*=\s*)([\"'])[^\"']*\2"
        add(f"{package}/__init__.py", version_variable, rf'\g<1>"{NEW_VERSION}"')
        add("manifest.yml", r"^(\s+VERSION:[ \t]*)\S+", rf"\g<1>{NEW_VERSION}")
        # The API's version: the first `version:` in the top-level `info:` block.
        info_version = r"^(info:\n(?:[ \t]+.*\n|\n)*?[ \t]+version:[ \t]*)\S+"
        add(f"{package}/openapi.yaml", info_version, rf"\g<1>{NEW_VERSION}")
        pyproject = source.file("pyproject.toml") or b""
        bumpversion = tomllib.loads(pyproject.decode()).get("tool", {}).get("bumpversion", {})
        current = bumpversion.get("current_version")
        if isinstance(current, str):
            add("pyproject.toml", r'^(current_version\s*=\s*)"[^"]*"', rf'\g<1>"{NEW_VERSION}"')
            # bump-my-version's own list of the files that hold the version.
            for spec in bumpversion.get("files", []):
                search = spec.get("search", bumpversion.get("search", "{current_version}"))
                # Searched for in the renamed text, so renamed too.
                old = rename(search.replace("{current_version}", current))
                if "filename" in spec and "{" not in old and not spec.get("regex"):
                    new = rename(search.replace("{current_version}", NEW_VERSION))
                    add(spec["filename"], re.escape(old), new.replace("\\", "\\\\"))
        self.rules = rules

    def __call__(self, path: str, text: str) -> str:
        for pattern, replacement in self.rules.get(path, []):
            text = pattern.sub(replacement, text)
        return text


IMPORT = re.compile(r"([ \t]*)(import|from)[ \t]+([\w.]+)")


def resort_imports(text: str, package: str) -> str:
    """Put each run of imports that names the new package back in the order ruff's isort
    keeps (plain imports, then from-imports, each by module): the new name may sort
    elsewhere among the other first-party modules (tests, service_tests, ...) than the
    template's did. A run is one section: consecutive import lines at one indentation."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        match = IMPORT.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        indent, statements = match.group(1), []
        while i < len(lines) and (match := IMPORT.match(lines[i])) and match.group(1) == indent:
            start = i
            if "(" in lines[i] and ")" not in lines[i]:  # a parenthesized, multi-line one
                while i + 1 < len(lines) and ")" not in lines[i]:
                    i += 1
            i += 1
            key = (match.group(2) == "from", match.group(3).lower())
            statements.append((key, lines[start:i]))
        modules = {module.split(".")[0] for (_, module), _ in statements}
        if package in modules:
            statements.sort(key=lambda statement: statement[0])
        for _, statement in statements:
            out.extend(statement)
    return "\n".join(out)


def template_only(path: str) -> bool:
    return any(
        path.startswith(each) if each.endswith("/") else path == each for each in TEMPLATE_ONLY
    )


def without_template_only_blocks(text: str, path: str) -> str:
    """The text without its template-only blocks, markers included."""
    out: list[str] = []
    inside = after_block = False
    for line in text.splitlines(keepends=True):
        if inside:
            inside, after_block = BLOCK_END not in line, BLOCK_END in line
        elif BLOCK_BEGIN in line:
            inside = True
        else:
            # A block between blank lines leaves one of them, not both.
            if not (after_block and not line.strip() and (not out or not out[-1].strip())):
                out.append(line)
            after_block = False
    if inside:
        raise Refused(f"{path}: a template-only block with no end ({BLOCK_END!r})")
    return "".join(out)


# A requirement line of a requirements file, or a package's first line in a pip-compile lock.
REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*(?:[=<>!~;@ ]|$)")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(text: str) -> set[str]:
    return {
        normalized(match.group(1)) for match in map(REQUIREMENT.match, text.splitlines()) if match
    }


@dataclass
class Locked:
    """One package of a lock: its name, its requirement and hash lines, what required it."""

    name: str
    lines: list[str]
    sources: list[str]


def lock_without(lock: str, dropped: set[str]) -> str:
    """A pip-compile lock (`make lock`) less the packages named in `dropped` and those that
    only they required, with the others' `# via` lines as pip-compile writes them for the
    smaller set. So the lock of an input whose template-only lines were left out is the one
    `make lock` makes of it, though the generator has no network to re-run pip-compile. A
    package that only a `-c` constraint names is not required: pip-compile leaves it out."""
    header: list[str] = []
    blocks: list[Locked] = []
    for line in lock.splitlines():
        match = REQUIREMENT.match(line)
        if match:
            blocks.append(Locked(normalized(match.group(1)), [line], []))
        elif not blocks:
            header.append(line)
        elif line.startswith("    # via "):
            blocks[-1].sources.append(line.removeprefix("    # via "))
        elif line.startswith("    #   "):
            blocks[-1].sources.append(line.removeprefix("    #   "))
        elif line != "    # via":
            blocks[-1].lines.append(line)
    gone = set(dropped)
    while True:
        more = {
            block.name
            for block in blocks
            if block.name not in gone
            and not any(
                each.startswith("-r ")
                or (not each.startswith("-") and normalized(each) not in gone)
                for each in block.sources
            )
        }
        if not more:
            break
        gone |= more
    out = list(header)
    for block in blocks:
        if block.name in gone:
            continue
        kept = [
            each for each in block.sources if each.startswith("-") or normalized(each) not in gone
        ]
        via = (
            [f"    # via {kept[0]}"]
            if len(kept) == 1
            else ["    # via", *(f"    #   {each}" for each in kept)]
        )
        out += block.lines + via
    return "\n".join(out) + "\n"


def readme_with_origin(text: str, template_name: str) -> str:
    """The README with a paragraph under its title saying which template it follows."""
    paragraph = [
        f"Generated from the {template_name} service template. `{RECORD_FILE}` records the",
        "template commit this service follows, and `make template-update` merges the",
        "template's later changes (see [Follow the template](#follow-the-template)).",
    ]
    lines = text.split("\n")
    title = next((i for i, each in enumerate(lines) if each.startswith("# ")), None)
    if title is None:
        return text
    start = end = title + 2
    if start < len(lines) and not lines[title + 1] and GENERATED_LINE.match(lines[start]):
        while end < len(lines) and lines[end]:  # the paragraph a template's README had
            end += 1
        lines[start:end] = paragraph
    else:
        lines[title + 1 : title + 1] = ["", *paragraph]
    return "\n".join(lines)


def record(origin: str, template_name: str, commit: str, name: str) -> str:
    return (
        json.dumps(
            {
                "note": "Written by make new-service and make template-update; do not edit.",
                "template": origin,
                "template_name": template_name,
                "template_commit": commit,
                "name": name,
            },
            indent=2,
        )
        + "\n"
    )


def render(source: Source, name: str, origin: str, out: Path) -> Iterator[str]:
    """Write the renamed tree of `source` into the empty directory `out`; yield warnings."""
    template_name = source.name()
    rename = Renamer(template_name, name)
    reset_version = VersionReset(source, rename)
    for entry in source.entries:
        if entry.path == RECORD_FILE:
            continue  # the template was generated itself: its record is replaced below
        if template_only(entry.path):
            continue
        if entry.kind != "blob":
            yield f"{entry.path}: a submodule, not copied"
            continue
        path = rename(entry.path)
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        content = source.read(entry)
        if entry.mode == "120000":
            target.symlink_to(rename(content.decode()))
            continue
        text = text_of(content)
        if text is not None:
            text = reset_version(path, rename(without_template_only_blocks(text, entry.path)))
            lock_input = source.file(entry.path.removesuffix(".txt") + ".in")
            if entry.path.endswith(".txt") and lock_input:
                # The lock of an input with template-only requirements: without them.
                original = lock_input.decode()
                left_out = requirement_names(original) - requirement_names(
                    without_template_only_blocks(original, entry.path)
                )
                if left_out:
                    text = lock_without(text, left_out)
            if path.endswith(".py"):
                text = resort_imports(text, name_forms(name)["snake"])
            if path == "README.md":
                text = readme_with_origin(text, template_name)
            content = text.encode("utf-8")
        target.write_bytes(content)
        target.chmod(0o755 if entry.mode == "100755" else 0o644)
    (out / RECORD_FILE).write_text(record(origin, template_name, source.commit, name))
    yield from reformat(out, template_name, name)


def reformat(out: Path, template_name: str, name: str) -> Iterator[str]:
    """Let ruff, the project's formatter, re-wrap the Python files: a name longer or shorter
    than the template's moves lines across the line-length limit. The project's own ruff
    (.venv/bin/ruff, where make runs), else one on PATH; with none, say what to run."""
    ruff = Path(".venv/bin/ruff").absolute()
    found = str(ruff) if ruff.exists() else shutil.which("ruff")
    if not found:
        if len(name) != len(template_name):
            yield (
                f"no ruff found to re-wrap lines for a name of another length than "
                f"{template_name}: in the new service, run `make lint`, then "
                "`.venv/bin/ruff format .` if it asks"
            )
        return
    for command in (["format"], ["check", "--fix", "--select", "I", "--exit-zero"]):
        subprocess.run(
            [found, *command, "--no-cache", "--quiet", "."],
            cwd=out,
            capture_output=True,
            check=False,
        )


# --- new-service ---------------------------------------------------------------------------


def template_origin(repo: Path) -> str:
    """Where a generated service will fetch this template from: its `origin` remote's URL
    when that has the commit (so every clone of the service can update), else this path."""
    url = git("config", "--get", "remote.origin.url", cwd=repo, check=False)
    pushed = git("branch", "-r", "--contains", "HEAD", "--list", "origin/*", cwd=repo, check=False)
    if url and pushed:
        if "://" not in url and ":" not in url.split("/")[0] and not Path(url).is_absolute():
            url = str((repo / url).resolve())  # a relative path to a local clone
        return url
    return str(repo)


def check_destination(dest_argument: str, template: Path) -> tuple[Path, list[Path]]:
    """DEST as an absolute path, and its missing parent directories, outermost first."""
    if not dest_argument:
        raise Refused(f"DEST is required: {USAGE}")
    dest = Path(dest_argument).expanduser().absolute()
    if dest.exists() or dest.is_symlink():
        raise Refused(f"DEST {dest_argument} already exists; give a path that does not exist yet")
    missing = [each for each in dest.parents if not each.exists() and not each.is_symlink()]
    existing = dest.parents[len(missing)]
    if not existing.is_dir():
        raise Refused(f"DEST {dest_argument} is under {existing}, which is not a directory")
    if dest.resolve().is_relative_to(template.resolve()):
        raise Refused(f"DEST {dest_argument} is inside the template; choose a path outside it")
    return dest, missing[::-1]


def check_git_identity(where: Path) -> None:
    for ident in ("GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"):
        known = subprocess.run(["git", "var", ident], cwd=where, capture_output=True, check=False)
        if known.returncode:
            raise Refused(
                "git does not know who you are, and the new service's first commit needs "
                'an author: git config --global user.name "Your Name"; '
                "git config --global user.email you@example.com"
            )


def new_service(name: str, dest_argument: str, origin: str | None) -> None:
    template = Path(git("rev-parse", "--show-toplevel", cwd=Path(__file__).resolve().parent))
    if not git("rev-parse", "--verify", "--quiet", "HEAD", cwd=template, check=False):
        raise Refused(f"{template} has no commits to generate from")
    source = Source(template, "HEAD")
    template_name = source.name()
    check_name(name, template_name, taken_names(source))
    dest, missing = check_destination(dest_argument, template)
    check_git_identity(dest.parents[len(missing)])
    origin = origin or template_origin(template)
    if git("status", "--porcelain", "--untracked-files=no", cwd=template):
        print(
            f"new-service: note: generating from commit {source.commit[:12]}; "
            "uncommitted changes in the template are left out"
        )

    # What a failure removes: the outermost parent made here, else the tree being built.
    made = missing[0] if missing else None
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        building = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        made = made or building
        for warning in render(source, name, origin, building):
            print(f"new-service: warning: {warning}", file=sys.stderr)
        branch = git("config", "--get", "init.defaultBranch", cwd=template, check=False) or "main"
        git("init", "--quiet", f"--initial-branch={branch}", cwd=building)
        git("add", "--all", "--force", cwd=building)
        message = (
            f"Generated from {template_name} {source.commit}\n\n"
            f"Template: {origin}\n{COMMIT_TRAILER}: {source.commit}\n"
        )
        git("commit", "--quiet", "--message", message, cwd=building)
        # A name for the template's line of history here (template_update.py moves it on).
        git("branch", "template", cwd=building)
        building.rename(dest)
    except BaseException:
        if made:
            shutil.rmtree(made, ignore_errors=True)
        raise

    forms = name_forms(name)
    print(
        f"new-service: created {name} in {dest_argument}, from {template_name} "
        f"{source.commit[:12]} ({origin})\n"
        f"  package {forms['snake']}, app {name}, Redis binding {name}-redis, "
        f"version {NEW_VERSION}\n"
        f"  a fresh git history: one commit on {branch}; {RECORD_FILE} records the template\n"
        "next:\n"
        f"  cd {dest_argument} && make test\n"
        "  git remote add origin YOUR-REPOSITORY-URL && git push -u origin "
        f"{branch}\n"
        "  later, `make template-status` and `make template-update` follow the template"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0], usage=USAGE)
    parser.add_argument("name", nargs="?", default="", help="the new service's name")
    parser.add_argument("dest", nargs="?", default="", help="the directory to create")
    parser.add_argument(
        "--template", help="where the service fetches template updates (default: detected)"
    )
    parser.add_argument(
        "--render",
        metavar="OUT",
        help="only write the renamed tree of --source's --commit into the empty directory OUT",
    )
    parser.add_argument("--source", help="with --render: the template repository")
    parser.add_argument("--commit", default="HEAD", help="with --render: the template commit")
    args = parser.parse_args(argv)
    try:
        if args.render:
            if not (args.source and args.template):
                parser.error("--render needs NAME, --source and --template")
            source = Source(Path(args.source), args.commit)
            check_name(args.name, source.name(), set())
            for warning in render(source, args.name, args.template, Path(args.render)):
                print(f"warning: {warning}", file=sys.stderr)
            return 0
        new_service(args.name, args.dest, args.template)
    except Refused as refusal:
        print(f"new-service: {refusal}", file=sys.stderr)
        print("new-service: nothing was written", file=sys.stderr)
        return 2
    except RuntimeError as failure:  # a git command failed; its message says why
        print(f"new-service: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
