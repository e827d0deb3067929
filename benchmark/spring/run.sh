#!/usr/bin/env bash
# Runs the offline Spring baseline built by build.sh, on 127.0.0.1:$PORT (default 8080).
#
# JVM options: none by default, so the benchmark sees the JVM's own defaults (on
# OpenJDK 17: G1, max heap 1/4 of RAM, tiered JIT), as an untuned Spring Boot
# `java -jar` would. Add your own through JAVA_OPTS, e.g. JAVA_OPTS="-Xms256m -Xmx256m".
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
classpath_file="$here/build/classpath.txt"
[[ -f $classpath_file ]] || { echo "run.sh: not built yet, run $here/build.sh" >&2; exit 1; }

export PORT="${PORT:-8080}"
# JAVA_OPTS is split on spaces on purpose (several options in one variable).
# shellcheck disable=SC2086
exec java ${JAVA_OPTS:-} -cp "$here/build/classes:$(cat "$classpath_file")" example.baseline.offline.Main
