#!/usr/bin/env bash
# Builds the offline Spring baseline into build/ (see README.md).
# Idempotent: installs Debian packages only when missing, then recompiles from scratch.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$here/build"

# Spring Framework 4.3.30, Tomcat 9.0.70 and Jackson 2.14 from Debian bookworm: Maven
# Central is not reachable here, Debian's package mirror is.
packages=(
  libspring-web-servlet-java libspring-web-java libspring-context-java
  libtomcat9-java libjackson2-databind-java
)
command -v javac >/dev/null || packages+=(openjdk-17-jdk-headless)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "build.sh: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Exactly the jars the server needs (Debian names Spring 4.3's jars spring3-*).
jars=(
  spring3-core spring3-beans spring3-context spring3-aop spring3-expression
  spring3-web spring3-web.servlet
  tomcat9-catalina tomcat9-coyote tomcat9-servlet-api tomcat9-juli tomcat9-util
  tomcat9-util-scan tomcat9-api tomcat9-jaspic-api tomcat9-annotations-api
  tomcat9-jni tomcat9-el-api tomcat9-websocket-api
  jackson-databind jackson-core jackson-annotations
  commons-logging
)
classpath=""
for j in "${jars[@]}"; do
  jar="/usr/share/java/$j.jar"
  [[ -f $jar ]] || { echo "build.sh: missing $jar" >&2; exit 1; }
  classpath+="${classpath:+:}$jar"
done

rm -rf "$build/classes"
mkdir -p "$build/classes"
# --release 8: Spring 4.3's bundled ASM cannot read class files newer than Java 8.
# -Xlint:-options hides javac 17's warning that release 8 is deprecated.
javac --release 8 -Xlint:-options -encoding UTF-8 -cp "$classpath" -d "$build/classes" \
  $(find "$here/shared/java" "$here/offline/java" -name '*.java' | sort)
printf '%s\n' "$classpath" > "$build/classpath.txt"
echo "build.sh: built $build/classes (run with $here/run.sh)"
