#!/usr/bin/env bash
# Builds the tiny image the Docker provider's tests run: /bin/sh and sleep with the shared
# libraries they need, copied from this machine and imported with `docker import` (no registry).
# Usage: build-test-image.sh [TAG [USER]]   (default hodei-test-sh:latest, run as root; USER as
# uid:gid sets the image's USER). Does nothing if TAG exists.
set -euo pipefail
tag=${1:-hodei-test-sh:latest}
user=${2:-}

if docker image inspect "$tag" >/dev/null 2>&1; then
  exit 0
fi

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT

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
    while read -r lib; do add_file "$lib"; done
}

sleep_bin=$(type -P sleep)
add_file /bin/sh /bin/sh
add_file "$sleep_bin" /bin/sleep
add_libs /bin/sh "$sleep_bin"
chmod 755 "$rootfs" # mktemp made it 0700: a non-root USER could not reach anything
mkdir -p "$rootfs/tmp" && chmod 1777 "$rootfs/tmp"

tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . |
  docker import --change 'ENV PATH=/bin' ${user:+--change "USER $user"} - "$tag" >/dev/null
echo "built $tag"
