"""`make new-service`: a generated service is renamed everywhere, passes its own unit tier
and lint, starts a fresh history at version 0.1.0, and leaves the template's own parts
behind; bad requests are refused, unwritten."""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from conftest import Run, service_name_for, template_name

VENV_BIN = Path(sys.executable).parent
# What stays in the template: its showcase (the Spring baseline, the recorded run, the
# benchmark's parts beyond the service against bare Falcon), the generator and its tests.
BENCHMARK_SHOWCASE = ["spring/", "RESULTS.md", "RESULTS.png", "showcase.py", "machine.py"]
BENCHMARK_SHOWCASE += ["fixed_rate.py", "constant_rate.py", "idle_pool.py", "profile_summary.py"]
TEMPLATE_ONLY = (
    *(f"benchmark/{path}" for path in BENCHMARK_SHOWCASE),
    "docs/swagger-ui.png",
    "scripts/new_service.py",
    "scripts/tests/",
)


def forms(name: str) -> dict[str, str]:
    words = name.split("-")
    return {
        "kebab": name,
        "snake": "_".join(words),
        "title": " ".join(word.capitalize() for word in words),
    }


def files_in(tree: Path) -> Iterator[Path]:
    for path in sorted(tree.rglob("*")):
        if ".git" not in path.relative_to(tree).parts and (path.is_file() or path.is_symlink()):
            yield path


def generate_once(template: Path, where: Path, run: Run) -> subprocess.CompletedProcess[str]:
    dest = where / service_name_for(template)
    result = run("make", "new-service", f"NAME={dest.name}", f"DEST={dest}", cwd=template)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="session")
def generated(
    template_snapshot: Path, tmp_path_factory: pytest.TempPathFactory, run: Run
) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    """A service generated from the snapshot, for the tests that only look at it."""
    where = tmp_path_factory.mktemp("generated")
    result = generate_once(template_snapshot, where, run)
    return template_snapshot, where / service_name_for(template_snapshot), result


# --- the generated tree passes its own unit tier and lint ---------------------------------


def tox_env_commands(tree: Path, env: str) -> tuple[list[list[str]], dict[str, str]]:
    """The commands of one of the tree's own tox envs, and the variables they set, to run
    with the tools of this test's environment rather than a new virtualenv per test."""
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(tree / "tox.ini")

    def substitute(value: str) -> str:
        value = re.sub(r"\{posargs(?::([^}]*))?\}", lambda m: m.group(1) or "", value)
        value = re.sub(
            r"\{env:([^:}]+)(?::([^}]*))?\}",
            lambda m: os.environ.get(m.group(1), m.group(2) or ""),
            value,
        )
        return value.replace("{tox_root}", str(tree)).replace("{toxinidir}", str(tree))

    def lines(section: str, key: str) -> list[str]:
        text = tox.get(section, key, fallback="").replace("\\\n", " ")
        return [line.strip() for line in text.splitlines() if line.strip()[:1] not in ("", "#")]

    variables = {}
    for section in ("testenv", f"testenv:{env}"):
        for line in lines(section, "set_env"):
            key, _, value = line.partition("=")
            variables[key.strip()] = substitute(value.strip())
    section = f"testenv:{env}"
    commands = []
    for line in lines(section, "commands_pre") + lines(section, "commands"):
        command = shlex.split(substitute(line))
        tool = VENV_BIN / command[0]
        commands.append([str(tool) if tool.exists() else command[0], *command[1:]])
    return commands, variables


@pytest.fixture(scope="session")
def service_to_test(
    template_snapshot: Path, tmp_path_factory: pytest.TempPathFactory, run: Run
) -> Path:
    """A service of its own for its tiers to run in (they leave caches and coverage data)."""
    where = tmp_path_factory.mktemp("tested")
    generate_once(template_snapshot, where, run)
    return where / service_name_for(template_snapshot)


@pytest.mark.parametrize("env", ["unit", "lint"])
def test_the_generated_service_passes_its_own_unit_tier_and_lint(
    service_to_test: Path, env: str
) -> None:
    service = service_to_test
    commands, variables = tox_env_commands(service, env)
    assert commands, f"the generated tox.ini has no {env} env"
    for command in commands:
        result = subprocess.run(
            command,
            cwd=service,
            env={**os.environ, **variables},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"{shlex.join(command)}:\n{result.stdout}{result.stderr}"


def test_without_ruff_a_name_of_another_length_asks_for_a_format(
    template_snapshot: Path, tmp_path: Path, run: Run
) -> None:
    dest = tmp_path / "u"
    no_ruff = "/usr/local/bin:/usr/bin:/bin"
    assert not shutil.which("ruff", path=no_ruff)
    result = run(
        "make", "new-service", "NAME=u", f"DEST={dest}", cwd=template_snapshot, PATH=no_ruff
    )
    assert result.returncode == 0, result.stderr
    assert "no ruff found to re-wrap lines" in result.stderr
    assert "`.venv/bin/ruff format .`" in result.stderr


@pytest.mark.parametrize("name", ["zebra-api", "u"])
def test_imports_and_format_stay_clean_whatever_the_name(
    template_snapshot: Path, tmp_path: Path, run: Run, name: str
) -> None:
    """A package named after `tests` and `service_tests` sorts after them among the
    first-party imports, where the template's sorted before; a shorter name lets wrapped
    lines join: still ruff-clean (sorted, and formatted by the ruff on PATH)."""
    dest = tmp_path / name
    result = run("make", "new-service", f"NAME={name}", f"DEST={dest}", cwd=template_snapshot)
    assert result.returncode == 0, result.stderr
    for check in (["check", "--select", "I"], ["format", "--check"]):
        result = run(VENV_BIN / "ruff", *check, "--no-cache", ".", cwd=dest)
        assert result.returncode == 0, result.stdout + result.stderr


# --- renamed everywhere --------------------------------------------------------------------


def test_the_template_name_is_left_only_in_the_documented_places(
    generated: tuple[Path, Path, object],
) -> None:
    """Only .template.json and the README's "Generated from" line name the template, in any
    spelling: kebab-case, snake_case, UPPER_CASE, Title Case, CamelCase."""
    template, service, _ = generated
    words = template_name(template).split("-")
    spelled = re.compile("[-_ ]?".join(map(re.escape, words)), re.IGNORECASE)
    found = []
    for path in files_in(service):
        relative = path.relative_to(service).as_posix()
        if spelled.search(relative):
            found.append(f"{relative} (its path)")
        if relative == ".template.json":
            continue
        text = path.read_bytes().decode("latin-1")
        for number, line in enumerate(text.splitlines(), 1):
            documented = relative == "README.md" and line.startswith("Generated from the ")
            if spelled.search(line) and not documented:
                found.append(f"{relative}:{number}: {line.strip()}")
    assert found == []


def test_each_place_that_names_the_service_is_renamed(
    generated: tuple[Path, Path, object],
) -> None:
    template, service, _ = generated
    old, new = forms(template_name(template)), forms(service.name)
    package = service / new["snake"]
    assert (package / "__init__.py").is_file()
    assert not (service / old["snake"]).exists()

    [app] = yaml.safe_load((service / "manifest.yml").read_text())["applications"]
    assert app["name"] == new["kebab"]
    assert app["services"] == [f"{new['kebab']}-redis"]
    assert all(old["kebab"] not in str(route) for route in app.get("routes", []))
    openapi = yaml.safe_load((package / "openapi.yaml").read_text())
    assert openapi["info"]["title"] == new["kebab"]
    assert (service / "README.md").read_text().startswith(f"# {new['kebab']}\n")
    assert f'SERVICE_NAME = "{new["kebab"]}"' in (package / "config.py").read_text()

    pyproject = tomllib.loads((service / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == new["kebab"]
    assert pyproject["tool"]["coverage"]["run"]["source"] == [new["snake"]]
    assert new["snake"] in pyproject["tool"]["mypy"]["files"]
    assert old["snake"] not in pyproject["tool"]["mypy"]["files"]
    uwsgi = (service / "uwsgi.ini").read_text()
    assert f"module = {new['snake']}.wsgi:app" in uwsgi
    assert f"/tmp/{new['kebab']}-metrics-" in uwsgi
    assert f"{new['snake']}/redis_store.py" in (service / "tox.ini").read_text()


# --- what stays in the template -----------------------------------------------------------


def test_every_file_but_the_template_only_ones_is_carried_over(
    generated: tuple[Path, Path, object],
) -> None:
    template, service, _ = generated
    old, new = forms(template_name(template)), forms(service.name)
    committed = subprocess.run(
        ["git", "ls-files"], cwd=template, capture_output=True, text=True, check=True
    ).stdout.split()
    kept = [path for path in committed if not path.startswith(TEMPLATE_ONLY)]
    renamed = {path.replace(old["snake"], new["snake"]) for path in kept}
    carried = {path.relative_to(service).as_posix() for path in files_in(service)}
    assert carried == renamed | {".template.json"}
    for path in kept:
        source, copy = template / path, service / path.replace(old["snake"], new["snake"])
        assert os.access(copy, os.X_OK) == os.access(source, os.X_OK), path


def test_the_spring_baseline_results_and_generator_stay_in_the_template(
    generated: tuple[Path, Path, object],
) -> None:
    template, service, _ = generated
    for path in TEMPLATE_ONLY:
        assert (template / path).exists(), path
        assert not (service / path).exists(), path


def test_binary_files_are_copied_untouched(
    new_template: Callable[[], Path],
    generate: Callable[[Path, Path], Path],
    git: Callable[..., str],
    tmp_path: Path,
) -> None:
    template = new_template()
    image = b"\x89PNG\r\n\x1a\n\0" + template_name(template).encode() + b"\n\xff\0"
    (template / "docs" / "diagram.png").write_bytes(image)
    git("add", "docs/diagram.png", cwd=template)
    git("commit", "--quiet", "--message", "A diagram", cwd=template)

    service = generate(template, tmp_path)
    assert (service / "docs" / "diagram.png").read_bytes() == image


def test_template_only_blocks_are_left_out_of_every_text_file(
    new_template: Callable[[], Path],
    generate: Callable[[Path, Path], Path],
    git: Callable[..., str],
    tmp_path: Path,
) -> None:
    template = new_template()
    (template / "NOTES.md").write_text(
        "Kept.\n\n<!-- template-only: begin -->\nThe template's alone.\n"
        "<!-- template-only: end -->\n\nKept too.\n"
    )
    (template / "notes.ini").write_text(
        "[list]\nitems =\n    one\n    # template-only: begin\n    two\n"
        "    # template-only: end\n    three\n"
    )
    git("add", "NOTES.md", "notes.ini", cwd=template)
    git("commit", "--quiet", "--message", "Notes", cwd=template)

    service = generate(template, tmp_path)
    assert (service / "NOTES.md").read_text() == "Kept.\n\nKept too.\n"
    assert (service / "notes.ini").read_text() == "[list]\nitems =\n    one\n    three\n"
    marked = [path for path in files_in(service) if b"template-only:" in path.read_bytes()]
    assert marked == []


def test_a_template_only_block_with_no_end_is_refused_and_nothing_is_written(
    new_template: Callable[[], Path], git: Callable[..., str], run: Run, tmp_path: Path
) -> None:
    template = new_template()
    (template / "NOTES.md").write_text("<!-- template-only: begin -->\nNo end.\n")
    git("add", "NOTES.md", cwd=template)
    git("commit", "--quiet", "--message", "Notes", cwd=template)
    where = tmp_path / "where"
    where.mkdir()

    dest = where / "new" / service_name_for(template)
    result = run("make", "new-service", f"NAME={dest.name}", f"DEST={dest}", cwd=template)
    assert result.returncode != 0
    assert "NOTES.md: a template-only block with no end" in result.stderr
    assert list(where.iterdir()) == []


def test_the_template_tox_env_is_the_templates_alone(
    generated: tuple[Path, Path, object],
) -> None:
    template, service, _ = generated
    for tree, has_it in ((template, True), (service, False)):
        tox = configparser.ConfigParser(interpolation=None)
        tox.read(tree / "tox.ini")
        assert ("template" in tox.get("tox", "env_list").split()) == has_it
        assert tox.has_section("testenv:template") == has_it


def test_make_bench_builds_the_spring_baseline_only_where_it_is(
    generated: tuple[Path, Path, object], run: Run
) -> None:
    template, service, _ = generated
    for tree, builds_it in ((template, True), (service, False)):
        planned = run("make", "--dry-run", "bench", cwd=tree)
        assert planned.returncode == 0, planned.stderr
        assert ("benchmark/spring/build.sh" in planned.stdout) == builds_it, planned.stdout


def test_the_service_is_benchmarked_against_bare_falcon_without_spring_or_granian(
    generated: tuple[Path, Path, object], run: Run
) -> None:
    """The template's benchmark also runs the Spring baseline, Granian and uWSGI's HTTP
    router by default."""
    template, service, _ = generated
    default_keys = "from benchmark.contenders import KEYS; print(*KEYS)"
    shipped, bare = "falcon-uwsgi", "falcon-bare"
    for tree, contenders in (
        (template, [shipped, bare, "spring", "falcon-granian", "falcon-uwsgi-router"]),
        (service, [shipped, bare]),
    ):
        # -B: the trees are shared with other tests, so no __pycache__ is left in them.
        result = run(sys.executable, "-B", "-c", default_keys, cwd=tree)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == contenders


def test_a_lock_leaves_out_what_only_template_only_requirements_needed(
    generated: tuple[Path, Path, object],
) -> None:
    """matplotlib, py-spy and Granian are template-only lines of benchmark/requirements.in;
    the service's lock has none of them nor what only they need, as pip-compile makes it of
    the service's input (`make lock-check` there), and its other locks are the template's."""
    template, service, _ = generated

    def locked(tree: Path, lock: str) -> set[str]:
        text = (tree / lock).read_text()
        return {line.split("==")[0] for line in text.splitlines() if re.match(r"[a-z]", line)}

    bench = "benchmark/requirements.txt"
    assert locked(template, bench) - locked(service, bench) == {
        *("matplotlib", "contourpy", "cycler", "fonttools", "kiwisolver", "numpy", "packaging"),
        *("pillow", "pyparsing", "python-dateutil", "tzdata", "py-spy", "granian", "click"),
    }
    assert locked(service, bench) <= locked(template, bench)
    assert "granian" not in (service / bench).read_text()
    for lock in ("requirements.txt", "requirements-test.txt", "requirements-dev.txt"):
        assert (service / lock).read_text() == (template / lock).read_text()


def test_the_service_starts_a_fresh_history_that_records_its_template(
    generated: tuple[Path, Path, subprocess.CompletedProcess[str]], git: Callable[..., str]
) -> None:
    template, service, result = generated
    template_commit = git("rev-parse", "HEAD", cwd=template)
    assert git("log", "--format=%s", cwd=service) == (
        f"Generated from {template_name(template)} {template_commit}"
    )
    assert git("status", "--porcelain", "--ignored", cwd=service) == ""
    assert git("rev-parse", "template", cwd=service) == git("rev-parse", "HEAD", cwd=service)
    assert json.loads((service / ".template.json").read_text()) == {
        "note": "Written by make new-service and make template-update; do not edit.",
        "template": str(template),
        "template_name": template_name(template),
        "template_commit": template_commit,
        "name": service.name,
    }
    assert f"created {service.name} in {service}" in result.stdout


def test_the_version_is_reset_to_0_1_0(
    new_template: Callable[[], Path],
    generate: Callable[[Path, Path], Path],
    git: Callable[..., str],
    tmp_path: Path,
) -> None:
    template = new_template()
    package = forms(template_name(template))["snake"]
    version_lines = {
        f"{package}/__init__.py": r'^(__version__ = ")[^"]+',
        "manifest.yml": r"^(\s+VERSION: )\S+",
        f"{package}/openapi.yaml": r"^(  version: )\S+",
        "pyproject.toml": r'^(current_version = ")[^"]+',
    }
    for path, pattern in version_lines.items():
        text = (template / path).read_text()
        (template / path).write_text(re.sub(pattern, r"\g<1>97.5.31", text, count=1, flags=re.M))
    git("commit", "--quiet", "--all", "--message", "Release 97.5.31", cwd=template)

    service = generate(template, tmp_path)
    new = forms(service.name)["snake"]
    assert '__version__ = "0.1.0"' in (service / new / "__init__.py").read_text()
    [app] = yaml.safe_load((service / "manifest.yml").read_text())["applications"]
    assert str(app["env"]["VERSION"]) == "0.1.0"
    assert yaml.safe_load((service / new / "openapi.yaml").read_text())["info"]["version"] == (
        "0.1.0"
    )
    bumpversion = tomllib.loads((service / "pyproject.toml").read_text())["tool"].get(
        "bumpversion", {"current_version": "0.1.0"}
    )
    assert bumpversion["current_version"] == "0.1.0"
    # Nowhere else either.
    assert [path for path in files_in(service) if b"97.5.31" in path.read_bytes()] == []


# --- refusals: a clear message, a non-zero exit, nothing written --------------------------


@pytest.fixture
def refuse(
    template_snapshot: Path, tmp_path: Path, run: Run, git: Callable[..., str]
) -> Callable[..., None]:
    """`refuse(*make_arguments, why=...)`: run `make new-service` in the template and check
    it is refused, with `why` in a message and a non-zero exit, and that nothing was
    written: not under the test's directory (where DEST would go), not in the template."""

    def state() -> object:
        files = {
            path: path.read_bytes() if path.is_file() else None for path in tmp_path.rglob("*")
        }
        return files, git("status", "--porcelain", "--ignored", cwd=template_snapshot)

    def refuse(*arguments: str, why: str, **env: str) -> None:
        # A good name, not the template's own, wherever an argument says {name}.
        name = service_name_for(template_snapshot)
        arguments = tuple(argument.replace("{name}", name) for argument in arguments)
        before = state()
        result = run("make", "new-service", *arguments, cwd=template_snapshot, **env)
        assert result.returncode != 0
        assert why in result.stderr
        assert "new-service: nothing was written" in result.stderr
        assert state() == before

    return refuse


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Upper", "bad NAME 'Upper': use lowercase letters, digits and single hyphens"),
        ("1api", "starting with a letter"),
        ("under_score", "use lowercase letters, digits and single hyphens"),
        ("-x", "starting with a letter"),
        ("trailing-", "not ending with a hyphen"),
        ("double--hyphen", "single hyphens"),
        ("with space", "use lowercase letters"),
        ("a" * 64, "at most 63 characters"),
        ("", "NAME is required: make new-service NAME=billing-api DEST=../billing-api"),
        ("json", "its package, json, would clash"),
        ("tests", "its package, tests, would clash"),
        ("falcon", "its package, falcon, would clash"),
        ("{template}", "that is the template's own name"),
    ],
)
def test_a_bad_name_is_refused(
    refuse: Callable[..., None], template_snapshot: Path, tmp_path: Path, name: str, why: str
) -> None:
    name = name.format(template=template_name(template_snapshot))
    refuse(f"NAME={name}", f"DEST={tmp_path / 'service'}", why=why)


@pytest.mark.parametrize("existing", ["a directory", "an empty directory", "a file"])
def test_an_existing_dest_is_refused(
    refuse: Callable[..., None], tmp_path: Path, existing: str
) -> None:
    dest = tmp_path / "service"
    if existing == "a file":
        dest.write_text("keep me\n")
    else:
        dest.mkdir()
        if existing == "a directory":
            (dest / "work.txt").write_text("keep me\n")
    refuse("NAME={name}", f"DEST={dest}", why=f"DEST {dest} already exists")


@pytest.mark.parametrize(
    ("arguments", "why"),
    [
        (["NAME={name}"], "DEST is required"),
        (["DEST=../somewhere"], "NAME is required"),
        (["NAME={name}", "DEST={tmp}/a-file/service"], "a-file, which is not a directory"),
        (["NAME={name}", "DEST=service"], "is inside the template"),
    ],
)
def test_a_missing_or_impossible_argument_is_refused(
    refuse: Callable[..., None], tmp_path: Path, arguments: list[str], why: str
) -> None:
    (tmp_path / "a-file").write_text("keep me\n")
    refuse(*(argument.replace("{tmp}", str(tmp_path)) for argument in arguments), why=why)


def test_dest_missing_parent_directories_are_made(
    template_snapshot: Path, tmp_path: Path, run: Run, git: Callable[..., str]
) -> None:
    dest = tmp_path / "teams" / "payments" / service_name_for(template_snapshot)
    result = run("make", "new-service", f"NAME={dest.name}", f"DEST={dest}", cwd=template_snapshot)
    assert result.returncode == 0, result.stderr
    assert git("log", "--format=%s", cwd=dest).startswith("Generated from ")
    assert sorted(path.name for path in (tmp_path / "teams" / "payments").iterdir()) == [dest.name]


def test_no_git_identity_is_refused_before_anything_is_written(
    refuse: Callable[..., None], tmp_path: Path
) -> None:
    anonymous = tmp_path.parent / f"{tmp_path.name}-gitconfig"
    # No name or e-mail, and no guessing them from the machine.
    anonymous.write_text("[user]\n\tuseConfigOnly = true\n")
    refuse(
        "NAME={name}",
        f"DEST={tmp_path / 'service'}",
        why="git config --global user.name",
        GIT_CONFIG_GLOBAL=str(anonymous),
    )


# --- what is generated from --------------------------------------------------------------


def test_only_committed_files_are_generated_from(
    new_template: Callable[[], Path], generate: Callable[[Path, Path], Path], tmp_path: Path
) -> None:
    template = new_template()
    readme = (template / "README.md").read_text()
    (template / "README.md").write_text(readme + "\nAn uncommitted line.\n")
    (template / "scratch.txt").write_text("untracked\n")
    (template / ".venv").mkdir()
    (template / ".venv" / "pyvenv.cfg").write_text("ignored\n")

    service = generate(template, tmp_path)
    assert "An uncommitted line." not in (service / "README.md").read_text()
    assert not (service / "scratch.txt").exists()
    assert not (service / ".venv").exists()


def test_a_pushed_template_records_its_remote_so_every_clone_can_update(
    template_snapshot: Path,
    tmp_path: Path,
    git: Callable[..., str],
    generate: Callable[[Path, Path], Path],
) -> None:
    clone = tmp_path / "clone"
    git("clone", "--quiet", template_snapshot, clone, cwd=tmp_path)
    (tmp_path / "first").mkdir()
    service = generate(clone, tmp_path / "first")
    assert json.loads((service / ".template.json").read_text())["template"] == str(
        template_snapshot
    )

    # A commit the remote does not have: only this clone can give it.
    git("commit", "--quiet", "--allow-empty", "--message", "Local only", cwd=clone)
    (tmp_path / "second").mkdir()
    service = generate(clone, tmp_path / "second")
    assert json.loads((service / ".template.json").read_text())["template"] == str(clone)
