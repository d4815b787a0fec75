#!/usr/bin/env bash
# Builds the Hodei worker image for the Docker provider on this machine, with no registry:
# the image's root file system is assembled from local files and loaded with `docker import`.
#
#   docker/build-worker-image.sh [TAG]        (default TAG: hodei-worker:dev)
#
# What goes in (and nothing else):
#   /opt/java/openjdk   a Java runtime cut from the JDK 25 at $JAVA_HOME by jlink, holding only
#                       the modules the jars need (jdeps); a copy of that JDK if jlink cannot
#   /opt/hodei          cli/target/hodei.jar and cli/target/lib/ (from `./mvnw -DskipTests install`)
#   /bin/sh, setsid, kill and a few small tools jobs commonly use ($HODEI_IMAGE_TOOLS), with the
#                       shared libraries `ldd` says they and the runtime need, and the loader
#   /etc/passwd, /etc/group  root, who runs the worker (to give each job a uid of its own), and
#                       hodei (uid/gid 10001), who owns /home/hodei
#   /tmp                world-writable (the worker keeps job scripts there)
# The worker starts jobs with setsid and kills their process groups with kill, so both are there;
# it runs each job as a uid of its own with setpriv (and prlimit), in namespaces of its own with
# unshare and mount (bwrap too, for an engine whose seccomp profile allows it): docs/security.md.
#
# And, unless HODEI_IMAGE_AOT=0, the worker's ahead-of-time class cache (JDK 25, JEP 483/514/515):
#   /opt/hodei/worker.aot  written by a training run of the worker inside a container of the image
#                       (the worker with HODEI_WORKER_AOT_TRAINING=1: a real agent against a stand-in
#                       control plane on the container's loopback), then committed as a layer on
#                       top; the entry point maps it with -XX:AOTCache. It halves the container's
#                       start to attached (docs/benchmarks.md, "Provisioning"). The JVM ignores a
#                       cache that does not fit (another JVM, other jars), so it can only cost speed.
#
# Idempotent and quick: the image is labelled with a fingerprint of its inputs, and an image
# with the same fingerprint is kept as it is (FORCE=1 rebuilds). docker/Dockerfile describes the
# same image built the usual way, from a registry's JRE image.
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:-hodei-worker:dev}
aot=${HODEI_IMAGE_AOT:-1}
tools=${HODEI_IMAGE_TOOLS:-echo test seq sha256sum sleep cat env ls mkdir rm cp mv touch chmod ln head tail wc sort uniq tr cut tee date id uname hostname basename dirname printf true false grep sed}
uid=10001

jar=cli/target/hodei.jar
if [ ! -f "$jar" ] || [ ! -d cli/target/lib ]; then
  echo "build-worker-image: $jar or cli/target/lib/ is missing; build them first with:" >&2
  echo "  ./mvnw -q -DskipTests install" >&2
  exit 1
fi

. .mvn/java-home.sh
if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/java" ]; then
  echo "build-worker-image: no JDK 25 found (set JAVA_HOME)" >&2
  exit 1
fi

if ! docker info >/dev/null 2>&1; then
  echo "build-worker-image: no Docker engine answers${DOCKER_HOST:+ at $DOCKER_HOST}; start one, for example:" >&2
  echo "  dockerd --storage-driver=vfs --bridge=none --iptables=false &   (as .ci/run does)" >&2
  exit 1
fi

# Every input that changes the image, hashed.
fingerprint=$(
  {
    sha256sum "$0"
    echo "$tools $uid $JAVA_HOME aot=$aot"
    cat "$JAVA_HOME/release" 2>/dev/null || true
    sha256sum "$jar" cli/target/lib/*
    for t in sh setsid kill setpriv bwrap prlimit unshare mount $tools; do p=$(type -P "$t" || true); [ -n "$p" ] && sha256sum "$p"; done
  } | sha256sum | cut -c1-16
)
current=$(docker image inspect --format '{{index .Config.Labels "io.hodei.fingerprint"}}' "$tag" 2>/dev/null || true)
if [ "$current" = "$fingerprint" ] && [ "${FORCE:-0}" != 1 ]; then
  echo "build-worker-image: $tag is up to date ($(docker image inspect --format '{{.Size}}' "$tag" | numfmt --to=iec))"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
mkdir -p "$rootfs"

add_file() { # add_file SRC [DEST]: SRC's content (links followed) at DEST (default: the same path)
  local src=$1 dest=${2:-$1}
  [ -e "$rootfs$dest" ] && return 0
  mkdir -p "$rootfs$(dirname "$dest")"
  cp -L "$src" "$rootfs$dest"
}
add_libs() { # add_libs FILE...: the shared libraries and loader that ldd says the files need
  local lib
  ldd "$@" 2>/dev/null |
    awk '$2 == "=>" && $3 ~ /^\// { print $3 } NF == 2 && $1 ~ /^\// { print $1 }' |
    sort -u |
    while read -r lib; do
      case "$(readlink -f "$lib")" in "$rootfs"/*) ;; *) add_file "$lib" ;; esac # the runtime's own are there
    done
}

# The Java runtime.
runtime=$rootfs/opt/java/openjdk
mkdir -p "$rootfs/opt/java"
modules=$("$JAVA_HOME/bin/jdeps" --print-module-deps --ignore-missing-deps --multi-release 25 \
  --class-path 'cli/target/lib/*' "$jar" cli/target/lib/*.jar 2>/dev/null | tail -n 1 || true)
case "$modules" in java.base*) ;; *) modules=ALL-MODULE-PATH ;; esac
if [ "$modules" != ALL-MODULE-PATH ] &&
  "$JAVA_HOME/bin/jlink" --add-modules "$modules,java.logging,jdk.unsupported,jdk.zipfs" \
    --strip-debug --no-man-pages --no-header-files --generate-cds-archive \
    --output "$runtime" >"$work/jlink.log" 2>&1; then
  # The archive for heaps over 32 GiB: a worker's container never has one.
  rm -f "$runtime/lib/server/classes_nocoops.jsa"
  echo "build-worker-image: Java runtime from jlink with $modules"
else
  echo "build-worker-image: jlink could not cut a runtime ($(tail -n 1 "$work/jlink.log" 2>/dev/null)); copying the JDK" >&2
  rm -rf "$runtime"
  mkdir -p "$runtime"
  tar -C "$JAVA_HOME" --exclude=./lib/src.zip --exclude=./jmods --exclude=./include --exclude=./man \
    --exclude=./demo --exclude=./lib/ct.sym -c . | tar -C "$runtime" -x
fi

# The application.
mkdir -p "$rootfs/opt/hodei/lib"
cp "$jar" "$rootfs/opt/hodei/hodei.jar"
cp cli/target/lib/*.jar "$rootfs/opt/hodei/lib/"

# The shell and tools, with the libraries everything needs.
add_file /bin/sh /bin/sh
binaries=("$rootfs/bin/sh")
for t in setsid kill setpriv bwrap prlimit unshare mount $tools; do
  p=$(type -P "$t" || true)
  case "$p" in
    /*) add_file "$p" "/usr/bin/$t"; binaries+=("$rootfs/usr/bin/$t") ;;
    *) if [ "$t" = setsid ] || [ "$t" = kill ] || [ "$t" = setpriv ] || [ "$t" = bwrap ] || [ "$t" = unshare ] || [ "$t" = mount ]; then
         echo "build-worker-image: $t is not installed here (apt-get install util-linux mount procps bubblewrap)" >&2
         exit 1
       fi
       echo "build-worker-image: $t not found, left out" >&2 ;;
  esac
done
# Not the libraries for windows, sound and splash screens: the worker is headless.
mapfile -t jdk_libs < <(find "$runtime" -name '*.so' -type f \
  ! -name libawt_xawt.so ! -name libjawt.so ! -name libsplashscreen.so ! -name libjsound.so)
add_libs "${binaries[@]}" "$runtime/bin/java" "${jdk_libs[@]}"

# Users, and the directories the worker writes to.
mkdir -p "$rootfs/etc" "$rootfs/home/hodei" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
cat >"$rootfs/etc/passwd" <<EOF
root:x:0:0:root:/root:/bin/sh
hodei:x:$uid:$uid:Hodei worker:/home/hodei:/bin/sh
EOF
cat >"$rootfs/etc/group" <<EOF
root:x:0:
hodei:x:$uid:
EOF
echo 'hosts: files dns' >"$rootfs/etc/nsswitch.conf"

# Everything owned by root except the worker's home, which is the worker's.
tar -C "$rootfs" --numeric-owner --owner=0 --group=0 --exclude=./home/hodei -cf "$work/image.tar" .
tar -C "$rootfs" --numeric-owner --owner=$uid --group=$uid -rf "$work/image.tar" ./home/hodei

# The worker's JVM: the serial GC (one CPU by default), no hsperfdata file, Netty's native
# transport allowed without a warning, INFO logging, and io.hodei.worker.WorkerMain itself rather
# than `hodei worker` (the CLI's parser is Java 5 bytecode, which no AOT cache can hold); with the
# AOT cache, the cache. The class path is hodei.jar's, with the lib/ jars its manifest names.
jvm='"java","-XX:+UseSerialGC","-XX:-UsePerfData","--enable-native-access=ALL-UNNAMED","-Dhodei.log.level=INFO"'
main='"-cp","/opt/hodei/hodei.jar","io.hodei.worker.WorkerMain","worker"'
entrypoint="[$jvm,$main]"
if [ "$aot" = 1 ]; then
  entrypoint="[$jvm,\"-XX:AOTCache=/opt/hodei/worker.aot\",\"-Xlog:aot=off,cds=off\",$main]"
fi
previous=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
changes=(
  --change 'ENV PATH=/opt/java/openjdk/bin:/usr/bin:/bin'
  --change 'ENV JAVA_HOME=/opt/java/openjdk'
  --change 'ENV HOME=/home/hodei'
  --change 'WORKDIR /home/hodei'
  --change "USER 0:0"
  --change "LABEL io.hodei.fingerprint=$fingerprint"
  --change "ENTRYPOINT $entrypoint"
)
if [ "$aot" = 1 ]; then
  base=$(docker import "${changes[@]}" --message "hodei worker without its AOT cache, built by docker/build-worker-image.sh" \
    "$work/image.tar")
  trainer=hodei-aot-training-$$-$RANDOM
  trap 'docker rm -f "$trainer" >/dev/null 2>&1 || true; [ -z "$base" ] || docker image rm "$base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  # Same JVM options, class path and memory limit as a worker container (the provider's default
  # 512 MiB), as root only to write into /opt/hodei; no network but the container's loopback.
  started=$(date +%s%N)
  # The variable goes through sh, not `docker run -e`: the committed image keeps the container's
  # environment, and a worker must not start as a training run.
  if docker run --name "$trainer" --network none --memory 512m --user 0:0 --entrypoint /bin/sh "$base" -c \
      'HODEI_WORKER_AOT_TRAINING=1 exec java -XX:+UseSerialGC -XX:-UsePerfData --enable-native-access=ALL-UNNAMED \
         -Dhodei.log.level=INFO -XX:AOTCacheOutput=/opt/hodei/worker.aot -cp /opt/hodei/hodei.jar io.hodei.worker.WorkerMain' >"$work/training.log" 2>&1 &&
    grep -q '^AOTCache creation is complete' "$work/training.log"; then
    docker commit "${changes[@]}" --change 'CMD []' \
      --message "hodei worker with its AOT cache, built by docker/build-worker-image.sh" "$trainer" "$tag" >/dev/null
    echo "build-worker-image: AOT cache trained in $(( ($(date +%s%N) - started) / 1000000 )) ms" \
      "($(( $(sed -n 's/^AOTCache creation is complete: .* \([0-9]*\) bytes$/\1/p' "$work/training.log") >> 20 )) MiB)"
  else
    echo "build-worker-image: the AOT cache training failed; the image has none. Its output:" >&2
    tail -n 20 "$work/training.log" >&2
    docker tag "$base" "$tag"
    base= # now the image itself: not to be removed on exit
  fi
else
  docker import "${changes[@]}" --message "hodei worker, built by docker/build-worker-image.sh" \
    "$work/image.tar" "$tag" >/dev/null
fi
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$tag")" ]; then
  docker image rm "$previous" >/dev/null 2>&1 || true # the build this one replaces, unless still in use
fi
echo "build-worker-image: built $tag ($(docker image inspect --format '{{.Size}}' "$tag" | numfmt --to=iec))"
