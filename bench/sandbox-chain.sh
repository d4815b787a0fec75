#!/bin/sh
# Starts /bin/true 100 times through one way of isolating a job, for timing the whole process
# (docs/benchmarks.md, "Job isolation").
# Usage: bench/sandbox-chain.sh plain|setpriv|bwrap|unshare|mount-namespace
# Needs root, setpriv (util-linux) and, for bwrap, bubblewrap. Uid 190500 is one of the job range.
set -eu
SP="setpriv --reuid 190500 --regid 190500 --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs --"
if [ "${1:-}" = mount-namespace ]; then
  # What MountNamespaceSandbox prepares once: the root's mount points and the fstab that fills them.
  base=$(mktemp -d); r=$base/root; trap 'rm -rf "$base"' EXIT
  mkdir -p $r/usr $r/etc $r/proc $r/dev/pts $r/dev/shm $r/tmp $r/var/tmp $r/run $r/job
  for l in bin sbin lib lib64; do ln -s usr/$l $r/$l; done
  ln -s pts/ptmx $r/dev/ptmx
  {
    printf '/usr\t%s/usr\tnone\tbind,ro,nosuid,nodev\t0\t0\n/etc\t%s/etc\tnone\tbind,ro,nosuid,nodev\t0\t0\n' $r $r
    printf 'proc\t%s/proc\tproc\tnosuid,nodev,noexec\t0\t0\n' $r
    for d in null zero full random urandom tty; do : >$r/dev/$d; printf '/dev/%s\t%s/dev/%s\tnone\tbind,nosuid,noexec\t0\t0\n' $d $r $d; done
    printf 'devpts\t%s/dev/pts\tdevpts\tnewinstance,ptmxmode=0666,mode=0620,nosuid,noexec\t0\t0\n' $r
    for d in dev/shm tmp var/tmp run; do printf 'tmpfs\t%s/%s\ttmpfs\tmode=1777,nosuid,nodev\t0\t0\n' $r $d; done
  } >$base/fstab
fi
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
    # What JobSandbox runs where bwrap cannot (a Docker container), less the cgroup.
    mount-namespace) /bin/sh -c 'shift; exec "$@"' sh -- setpriv --pdeathsig KILL -- unshare --pid --fork --kill-child \
        --mount --ipc --uts --propagation private /bin/sh -c \
        'mount -a -T "$1" && mount --bind "$2" "$3" || exit 125; shift 3; exec 3<&0 0</dev/null; "$@" <&3 3<&- & exec 3<&-; wait $!' sh $base/fstab $base $r/job \
        unshare --root=$r --wd=/ $SP /bin/true ;;
    *) echo "usage: $0 plain|setpriv|bwrap|unshare|mount-namespace" >&2; exit 2 ;;
  esac
  i=$((i + 1))
done
