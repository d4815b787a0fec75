# Sourced by ./mvnw, ./hodei and .ci/run: points JAVA_HOME at a JDK 25 or newer.
# Keeps a JAVA_HOME that is already new enough; otherwise looks in the usual install places.
hodei_java_feature() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/java" ] || [ "$(hodei_java_feature "$JAVA_HOME")" -lt 25 ] 2>/dev/null; then
  for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*-25* /usr/lib/jvm/*25* /opt/java/openjdk; do
    if [ -x "$candidate/bin/java" ] && [ "$(hodei_java_feature "$candidate")" -ge 25 ] 2>/dev/null; then
      export JAVA_HOME="$candidate"
      break
    fi
  done
fi
unset -f hodei_java_feature
