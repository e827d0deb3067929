"""Where a WSGI worker's time goes, from a py-spy profile in raw (collapsed) format.

    py-spy record --pid MASTER_PID --subprocesses --nonblocking --rate 250 \\
        --duration 15 --format raw -o profile.txt      # while wrk loads the server
    python -m benchmark.profile_summary profile.txt

Prints the share of samples spent inside each part of a request (inclusive: a part's
callees count towards it), then the functions with the most inclusive samples.
benchmark/RESULTS.md's profiling findings were made this way.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

# Parts of a request, by a frame that marks them: a sample counts for the first part in
# this list whose frame is on its stack (a JSON dump inside the access log is access log).
PARTS = {
    "access log (AccessLogMiddleware)": "AccessLogMiddleware.process_response",
    "metrics (MetricsMiddleware)": "MetricsMiddleware.process_response",
    "request id (RequestContextMiddleware)": "RequestContextMiddleware.process_",
    "POST body: read and parse JSON": "read_json_object",
    "POST answer: serialize JSON": "Response.render_body",
    "resource (HelloResource)": "HelloResource.on_",
}
# "Logger.info (logging/__init__.py:1489)": the function, its file, the line.
FRAME = re.compile(r"^(?P<function>.+?) \((?P<file>.*?)(:\d+)?\)$")


def summarize(lines: list[str]) -> tuple[int, Counter[str], Counter[str]]:
    total = 0
    parts: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    for line in lines:
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        total += count
        names = [FRAME.sub(r"\g<function>", f) for f in frames]
        functions_here = {FRAME.sub(r"\g<function> (\g<file>)", f) for f in frames}
        part = next(
            (label for label, marker in PARTS.items() for name in names if marker in name),
            "falcon and the rest of the request" if names else "no Python frame",
        )
        parts[part] += count
        for name in functions_here:
            functions[name] += count
    return total, parts, functions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path, help="py-spy --format raw output")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    total, parts, functions = summarize(args.profile.read_text().splitlines())
    if not total:
        print("no samples", file=sys.stderr)
        return 1
    print(f"{total} samples\n\n| part of the request | share of samples |\n| --- | ---: |")
    for label, count in parts.most_common():
        print(f"| {label} | {100 * count / total:.1f}% |")
    print("\n| function (inclusive) | share |\n| --- | ---: |")
    for name, count in functions.most_common(args.top):
        print(f"| `{name}` | {100 * count / total:.1f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
