#!/bin/sh
# Starts /bin/true 100 times through one way of isolating a job, for timing the whole process
# (docs/benchmarks.md, "Job isolation"). Usage: bench/sandbox-chain.sh plain|setpriv|bwrap|unshare
# Needs root, setpriv (util-linux) and, for bwrap, bubblewrap. Uid 190500 is one of the job range.
set -eu
SP="setpriv --reuid 190500 --regid 190500 --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs --"
i=0
while [ $i -lt 100 ]; do
  case "${1:-}" in
    plain) /bin/true ;;
    setpriv) /bin/sh -c 'shift; exec "$@"' sh -- $SP /bin/true ;;
    # What JobSandbox runs, less the cgroup: the sh that would join it, bwrap, setpriv, the program.
    bwrap) /bin/sh -c 'shift; exec "$@"' sh -- bwrap --die-with-parent --unshare-pid --unshare-ipc \
        --unshare-uts --unshare-cgroup-try --hostname hodei-job --ro-bind /usr /usr --symlink usr/bin /bin \
        --symlink usr/sbin /sbin --symlink usr/lib /lib --symlink usr/lib64 /lib64 --ro-bind /etc /etc \
        --proc /proc --dev /dev --perms 1777 --tmpfs /dev/shm --perms 1777 --tmpfs /tmp --dir /var \
        --perms 1777 --tmpfs /var/tmp --tmpfs /run --chdir / -- $SP /bin/true ;;
    # The alternative: util-linux unshare and mounts done by a shell (pid namespace, /proc, /tmp only).
    unshare) unshare --pid --fork --mount --propagation private --ipc --uts --kill-child /bin/sh -c \
        "mount -t proc proc /proc && mount -t tmpfs -o mode=1777 tmpfs /tmp && exec $SP /bin/true" ;;
    *) echo "usage: $0 plain|setpriv|bwrap|unshare" >&2; exit 2 ;;
  esac
  i=$((i + 1))
done
