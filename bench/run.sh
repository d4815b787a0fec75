#!/usr/bin/env bash
# The benchmark suite: ./bench/run.sh [--quick] [NAME...]   (./bench/run.sh --help lists the names)
# Builds the jars when they are missing or older than the sources, compiles the C spawn baseline
# when a C compiler is present, then runs the benchmarks: a JSON line per result on stdout, then a
# human summary. --quick is a smoke run (small sizes, same code paths); its numbers mean nothing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/.mvn/java-home.sh"
if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/java" ]; then
  echo "bench: no JDK 25 found; install one and set JAVA_HOME" >&2
  exit 69
fi
jar="$root/bench/target/hodei-bench.jar"
if [ ! -f "$jar" ] || [ ! -f "$root/cli/target/hodei.jar" ] ||
   [ -n "$(find "$root" -path "$root/.git" -prune -o \( -name '*.java' -o -name '*.proto' -o -name 'pom.xml' -o -name '*.sql' -o -name '*.xml' \) \
       -newer "$jar" -not -path '*/target/*' -print -quit)" ]; then
  echo "bench: building..." >&2
  (cd "$root" && ./mvnw -q -DskipTests -Dmaven.test.skip=true package) >&2
fi
spawn="$root/bench/target/spawn"
if [ ! -x "$spawn" ] || [ "$root/bench/src/main/c/spawn.c" -nt "$spawn" ]; then
  if command -v cc >/dev/null 2>&1; then
    cc -O2 -o "$spawn" "$root/bench/src/main/c/spawn.c"
  else
    echo "bench: no C compiler: the raw spawn baseline is a bash loop (slower than a C loop)" >&2
  fi
fi
exec "$JAVA_HOME/bin/java" -XX:+UseParallelGC -Xmx2g -jar "$jar" --root "$root" "$@"
