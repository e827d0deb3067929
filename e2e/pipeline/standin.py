"""A stand-in for a command the pipeline runs (`cf`, `tox`), put first on PATH by the tests.

Usage: standin.py TOOL ARGS...  (the tests install `cf` and `tox` wrappers that call it)

Each call appends a JSON line to the file named by STANDIN_RECORD: the tool, its
arguments, its directory, and for `cf push -f FILE` the manifest's text (the workspace is
gone once the pipeline ends). It answers what the pipeline asks of `cf`:
`cf app APP --guid` and `cf curl /v3/apps/GUID/revisions/deployed`, the latter with
revision STANDIN_DEPLOYED_REVISION (default 7; "none": no revision known).

STANDIN_FAIL="TOOL SUBCOMMAND[#N]" makes the Nth such call (every one without #N) fail
with exit status 1, e.g. "cf push#2" fails the production push. STANDIN_TOX_TOUCH=PATH
makes `tox` change that file, as a test tier writing into a tracked file would.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def _matching_calls(record: Path, tool: str, subcommand: str) -> int:
    if not record.exists():
        return 0
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    return sum(1 for call in calls if call["tool"] == tool and call["argv"][:1] == [subcommand])


def _fails(tool: str, argv: list[str], occurrence: int) -> bool:
    wanted = os.environ.get("STANDIN_FAIL", "").strip()
    if not wanted or not argv:
        return False
    spec_tool, _, spec = wanted.partition(" ")
    subcommand, _, nth = spec.partition("#")
    if (spec_tool, subcommand) != (tool, argv[0]):
        return False
    return not nth or int(nth) == occurrence


def main() -> int:
    tool, argv = sys.argv[1], sys.argv[2:]
    record = Path(os.environ["STANDIN_RECORD"])
    occurrence = _matching_calls(record, tool, argv[0] if argv else "") + 1
    call: dict[str, object] = {"tool": tool, "argv": argv, "cwd": os.getcwd()}
    if tool == "cf" and argv[:1] == ["push"] and "-f" in argv:
        call["manifest"] = Path(argv[argv.index("-f") + 1]).read_text()
    with record.open("a") as out:
        out.write(json.dumps(call) + "\n")
    touch = os.environ.get("STANDIN_TOX_TOUCH")
    if tool == "tox" and touch:
        with Path(touch).open("a") as changed:
            changed.write("written by a test tier\n")
    if _fails(tool, argv, occurrence):
        print(f"standin {tool}: failing `{' '.join(argv)}` as told", file=sys.stderr)
        return 1
    if tool == "cf" and argv[:1] == ["app"] and "--guid" in argv:
        print("standin-app-guid")
    elif tool == "cf" and argv[:1] == ["curl"] and argv[1].endswith("/revisions/deployed"):
        revision = os.environ.get("STANDIN_DEPLOYED_REVISION", "7")
        resources = [] if revision == "none" else [{"version": int(revision)}]
        print(json.dumps({"resources": resources}))
    else:
        print(f"standin {tool}: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
