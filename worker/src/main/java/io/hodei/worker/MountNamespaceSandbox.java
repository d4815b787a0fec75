package io.hodei.worker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * The job sandbox for where bwrap cannot run but the worker is root with {@code CAP_SYS_ADMIN}
 * and {@code CAP_SYS_CHROOT}: a container under Docker's default seccomp profile, which lets such
 * a process make namespaces and mounts but refuses {@code pivot_root}, the call bwrap is built on.
 * It gives a job what bwrap does, from util-linux's {@code unshare} and {@code mount}:
 *
 * <ul>
 *   <li>its own pid, mount, IPC and UTS namespaces ({@code unshare --fork --kill-child}: when the
 *       namespace's first process ends, the kernel kills every other one);
 *   <li>a root of only the system directories, read-only, fresh {@code /proc}, {@code /dev} (the
 *       usual nodes and a private {@code devpts}), {@code /dev/shm}, {@code /tmp}, {@code /var/tmp}
 *       and {@code /run}, and its own directory at {@code /job}; entered with {@code chroot}, which
 *       the job, holding no capability, cannot leave.
 * </ul>
 *
 * <p>The mount points are a directory tree made once, at start ({@link #prepare}), with an {@code
 * fstab} of every mount; each job then runs {@code mount -a} on it in its own mount namespace,
 * binds its directory, and enters the root. Every mount is the job's namespace's, gone with it.
 *
 * <p>Immutable once prepared.
 */
final class MountNamespaceSandbox {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(MountNamespaceSandbox.class);
  private static final List<String> DEVICES = List.of("null", "zero", "full", "random", "urandom", "tty");
  /**
   * Run as root, as the namespace's pid 1: the mounts, then the rest of the chain as its child,
   * whose status it returns. Stays pid 1, so that the job's first process is an ordinary one that
   * SIGTERM reaches. A shell gives a background command {@code /dev/null} as its stdin unless it
   * is redirected, so the job's stdin (its secrets) is handed on through fd 3, which pid 1 then
   * closes, as it does its own stdin.
   */
  private static final String MOUNT_AND_RUN =
      "mount -a -T \"$1\" && mount --bind \"$2\" \"$3\" || exit 125; shift 3;"
          + " exec 3<&0 0</dev/null; \"$@\" <&3 3<&- & exec 3<&-; wait $!";

  private final Path root;
  private final Path fstab;
  private final Path setpriv;
  private final Path unshare;
  private final Path shell;

  private MountNamespaceSandbox(Path root, Path fstab, Path setpriv, Path unshare, Path shell) {
    this.root = root;
    this.fstab = fstab;
    this.setpriv = setpriv;
    this.unshare = unshare;
    this.shell = shell;
  }

  /**
   * Makes the root's mount points under {@code base} (replacing what an earlier run left) and the
   * {@code fstab} that fills them: {@code readOnlyPaths} in order, the system directories first,
   * then the fresh mounts, then the admin's directories (after them, so that one under {@code
   * /tmp} is still seen).
   */
  static MountNamespaceSandbox prepare(
      Path base, List<String> readOnlyPaths, int systemPaths, Path setpriv, Path unshare, Path shell) throws IOException {
    Path root = base.resolve("root");
    Path fstab = base.resolve("fstab");
    Files.createDirectories(base);
    Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx------"));
    if (Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      deleteTemplate(root);
    }
    Files.createDirectory(root);
    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < readOnlyPaths.size(); i++) {
      if (i == systemPaths) {
        freshMounts(root, lines);
      }
      Path host = Path.of(readOnlyPaths.get(i));
      Path inside = root.resolve(host.toString().substring(1));
      if (Files.isSymbolicLink(host)) {
        Files.createDirectories(inside.getParent());
        Files.createSymbolicLink(inside, Files.readSymbolicLink(host));
      } else if (Files.isDirectory(host)) {
        Files.createDirectories(inside);
        lines.add(line(host.toString(), inside, "none", "bind,ro,nosuid,nodev,X-mount.mkdir"));
      } else if (Files.isRegularFile(host)) {
        // Under a fresh tmpfs the file's mount point cannot be made in advance.
        if (inside.startsWith(root.resolve("tmp")) || inside.startsWith(root.resolve("var/tmp")) || inside.startsWith(root.resolve("run"))) {
          log.warn("{} is a file under a directory the sandbox makes afresh; jobs will not see it", host);
          continue;
        }
        Files.createDirectories(inside.getParent());
        Files.createFile(inside);
        lines.add(line(host.toString(), inside, "none", "bind,ro,nosuid,nodev"));
      }
    }
    if (readOnlyPaths.size() <= systemPaths) {
      freshMounts(root, lines);
    }
    Files.createDirectory(root.resolve(JobSandbox.SANDBOX_JOB_DIR.substring(1)));
    Files.writeString(fstab, String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(fstab, PosixFilePermissions.fromString("rw-------"));
    return new MountNamespaceSandbox(root, fstab, setpriv, unshare, shell);
  }

  private static void freshMounts(Path root, List<String> lines) throws IOException {
    Path dev = Files.createDirectories(root.resolve("dev"));
    Files.createDirectories(root.resolve("proc"));
    lines.add(line("proc", root.resolve("proc"), "proc", "nosuid,nodev,noexec"));
    for (String device : DEVICES) {
      Path node = dev.resolve(device);
      Files.createFile(node);
      lines.add(line("/dev/" + device, node, "none", "bind,nosuid,noexec"));
    }
    Files.createDirectory(dev.resolve("pts"));
    lines.add(line("devpts", dev.resolve("pts"), "devpts", "newinstance,ptmxmode=0666,mode=0620,nosuid,noexec"));
    Files.createSymbolicLink(dev.resolve("ptmx"), Path.of("pts/ptmx"));
    Files.createSymbolicLink(dev.resolve("fd"), Path.of("/proc/self/fd"));
    Files.createSymbolicLink(dev.resolve("stdin"), Path.of("/proc/self/fd/0"));
    Files.createSymbolicLink(dev.resolve("stdout"), Path.of("/proc/self/fd/1"));
    Files.createSymbolicLink(dev.resolve("stderr"), Path.of("/proc/self/fd/2"));
    Files.createDirectory(dev.resolve("shm"));
    lines.add(line("tmpfs", dev.resolve("shm"), "tmpfs", "mode=1777,nosuid,nodev"));
    Files.createDirectories(root.resolve("tmp"));
    lines.add(line("tmpfs", root.resolve("tmp"), "tmpfs", "mode=1777,nosuid,nodev"));
    Files.createDirectories(root.resolve("var/tmp"));
    lines.add(line("tmpfs", root.resolve("var/tmp"), "tmpfs", "mode=1777,nosuid,nodev"));
    Files.createDirectories(root.resolve("run"));
    lines.add(line("tmpfs", root.resolve("run"), "tmpfs", "mode=0755,nosuid,nodev"));
  }

  /** One fstab line; fstab escapes white space and backslashes in octal. */
  private static String line(String source, Path target, String type, String options) {
    return escape(source) + "\t" + escape(target.toString()) + "\t" + type + "\t" + options + "\t0\t0";
  }

  private static String escape(String field) {
    StringBuilder out = new StringBuilder();
    for (char c : field.toCharArray()) {
      if (c == ' ' || c == '\t' || c == '\n' || c == '\\') {
        out.append(String.format("\\%03o", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  /**
   * The chain up to the point where the job's uid is taken: {@code setpriv --pdeathsig} (the
   * sandbox dies with the worker's thread that started it, as bwrap's {@code --die-with-parent}),
   * {@code unshare} of the namespaces, the mounts as the namespace's pid 1, then {@code unshare
   * --root} into the sandbox's root and {@code chdir}.
   */
  List<String> argv(Path hostJobDir, Path chdir) {
    return List.of(
        setpriv.toString(), "--pdeathsig", "KILL", "--",
        unshare.toString(), "--pid", "--fork", "--kill-child", "--mount", "--ipc", "--uts", "--propagation", "private",
        shell.toString(), "-c", MOUNT_AND_RUN, "sh", fstab.toString(), hostJobDir.toString(), root.resolve("job").toString(),
        unshare.toString(), "--root=" + root, "--wd=" + chdir);
  }

  /** Deletes the root's mount points and the fstab; only once no job uses them. */
  void remove() {
    try {
      deleteTemplate(root);
      Files.deleteIfExists(fstab);
    } catch (IOException e) {
      log.warn("could not remove the sandbox's root {}: {}", root, e.toString());
    }
  }

  /** Deletes the mount points of an earlier run: only directories, empty files and links, never below a mount. */
  private static void deleteTemplate(Path root) throws IOException {
    try (var walk = Files.walk(root)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
