package io.hodei.worker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kills a job's processes: the one place the worker ends processes, whether the job was
 * cancelled, timed out or the worker is stopping.
 *
 * <p>Two nets catch the job's processes. A job started through {@code setsid} leads a process
 * group of its own whose id is its pid ({@link ProcessLauncher}); the group reaches everything the
 * job started that stayed in it, including orphans re-parented to init, which are nobody's
 * descendants any more. The descendants, listed while the job's root process still runs (once it
 * is gone they are re-parented and can't be found), reach the processes that left the group. All
 * of them get SIGTERM; once they are all gone, or the grace period has passed, whatever still runs
 * gets SIGKILL, group and descendants alike. Zombies (dead, waiting to be reaped) count as gone.
 *
 * <p>A group is signalled with libc's {@code kill(2)} on {@code -PGID}, through the FFM API (the
 * JDK can only signal single processes); where that cannot be called, with the external {@code
 * kill} program ({@code kill -TERM -- -PGID}). Without it, or for a job not started in a group of its
 * own, only the descendants are reached.
 *
 * <p>Safety of the group signal: it goes to the group whose id is the job's pid, never to the
 * worker's own group. While any process of that group lives, the kernel gives no new process the
 * id, so the signal can only reach a stranger if the whole group ended and the pid space wrapped
 * around between the SIGTERM and the SIGKILL.
 *
 * <p>Thread-safe: no state beyond its configuration; {@link #kill} blocks its caller.
 */
final class ProcessKiller {
  private static final Logger log = LoggerFactory.getLogger(ProcessKiller.class);
  private static final Duration FIRST_POLL = Duration.ofMillis(10);
  private static final Duration MAX_POLL = Duration.ofMillis(160);
  private static final Duration KILL_COMMAND_TIMEOUT = Duration.ofSeconds(2);
  private static final Path PROC = Path.of("/proc");

  private final Optional<Path> killProgram;
  private final Duration gracePeriod;

  /**
   * @param killProgram the {@code kill} program for signalling process groups; empty: groups are
   *     not signalled
   * @param gracePeriod how long the processes get between SIGTERM and SIGKILL
   */
  ProcessKiller(Optional<Path> killProgram, Duration gracePeriod) {
    this.killProgram = killProgram;
    this.gracePeriod = gracePeriod;
  }

  Duration gracePeriod() {
    return gracePeriod;
  }

  /**
   * Sends SIGTERM to the job's group (if {@code ownGroup}: {@code root} leads a group of its own)
   * and to {@code root} and its descendants, waits until they are all gone or the grace period
   * has passed, then sends SIGKILL to whatever still runs. Blocks until then. If interrupted, sends
   * SIGKILL at once and rethrows.
   */
  void kill(ProcessHandle root, boolean ownGroup) throws InterruptedException {
    OptionalLong group =
        ownGroup && (killProgram.isPresent() || LIBC_KILL.isPresent()) ? OptionalLong.of(root.pid()) : OptionalLong.empty();
    List<ProcessHandle> tree = new ArrayList<>();
    tree.add(root);
    root.descendants().forEach(tree::add);
    boolean groupSignalled = group.isPresent() && signalGroup(group.getAsLong(), "TERM");
    // A process gets SIGTERM once: members of the signalled group already have it (a job whose
    // TERM handler prints or cleans up must not run it twice); the others get it one by one.
    java.util.function.Predicate<ProcessHandle> notYetSignalled =
        p -> !groupSignalled || processGroupOf(p.pid()) != group.getAsLong();
    tree.stream().filter(notYetSignalled).forEach(ProcessHandle::destroy);
    // Children that were being forked while we listed: one more look, now that the root got TERM.
    addNewDescendants(root, tree).stream().filter(notYetSignalled).forEach(ProcessHandle::destroy);
    long deadline = System.nanoTime() + gracePeriod.toNanos();
    try {
      Duration poll = FIRST_POLL;
      while (!allGone(tree, group) && System.nanoTime() - deadline < 0) {
        Thread.sleep(poll);
        poll = poll.multipliedBy(2).compareTo(MAX_POLL) > 0 ? MAX_POLL : poll.multipliedBy(2);
      }
    } catch (InterruptedException e) {
      killForcibly(root, tree, group, "interrupted");
      throw e;
    }
    if (!allGone(tree, group)) {
      killForcibly(root, tree, group, "still running " + gracePeriod + " after SIGTERM");
    }
  }

  /** libc's {@code kill(2)}, through the FFM API; empty where it cannot be called. */
  private static final Optional<java.lang.invoke.MethodHandle> LIBC_KILL = libcKill();

  private static Optional<java.lang.invoke.MethodHandle> libcKill() {
    if (!System.getProperty("os.name", "").equals("Linux")) {
      return Optional.empty();
    }
    try {
      var linker = java.lang.foreign.Linker.nativeLinker();
      return linker.defaultLookup()
          .find("kill")
          .map(s -> linker.downcallHandle(s, java.lang.foreign.FunctionDescriptor.of(
              java.lang.foreign.ValueLayout.JAVA_INT, java.lang.foreign.ValueLayout.JAVA_INT,
              java.lang.foreign.ValueLayout.JAVA_INT)));
    } catch (RuntimeException | LinkageError e) {
      return Optional.empty();
    }
  }

  /** The Linux numbers of the signals the killer sends (the same on every architecture). */
  private static OptionalInt signalNumber(String signal) {
    return switch (signal) {
      case "0" -> OptionalInt.of(0);
      case "TERM" -> OptionalInt.of(15);
      case "KILL" -> OptionalInt.of(9);
      default -> OptionalInt.empty();
    };
  }

  /**
   * SIGKILL, at once, to what a job that ended left running: the members of its process group
   * {@code pgid} (its pid: the job leads a group and session of its own) and what the worker, as
   * its {@link Subreaper}, adopted from its session.
   */
  void killLeftovers(long pgid) {
    if (killProgram.isPresent() || LIBC_KILL.isPresent()) {
      signalGroup(pgid, "KILL"); // an empty group: ESRCH, nothing done
    }
    Subreaper.killOrphansOfSession(pgid);
  }

  /** The process group of {@code pid} from {@code /proc/PID/stat}; -1 if it cannot be read (gone). */
  private static long processGroupOf(long pid) {
    try {
      String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Long.toString(pid), "stat"));
      // After the command name, in parentheses that may itself hold spaces: state ppid pgrp ...
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(fields[2]);
    } catch (java.io.IOException | RuntimeException e) {
      return -1;
    }
  }

  private void killForcibly(
      ProcessHandle root, List<ProcessHandle> tree, OptionalLong group, String why) {
    addNewDescendants(root, tree);
    List<Long> members =
        group.isPresent() ? runningMembers(group.getAsLong()).orElse(List.of()) : List.of();
    List<Long> outside =
        tree.stream()
            .filter(ProcessKiller::isRunning)
            .map(ProcessHandle::pid)
            .filter(pid -> !members.contains(pid))
            .toList();
    if (group.isPresent()) {
      log.info(
          "{}: sending SIGKILL to process group {} {} and to {} outside it",
          why, group.getAsLong(), members, outside);
    } else {
      log.info("{}: sending SIGKILL to {}", why, outside);
    }
    group.ifPresent(pgid -> signalGroup(pgid, "KILL"));
    tree.stream().filter(ProcessKiller::isRunning).forEach(ProcessHandle::destroyForcibly);
  }

  private static List<ProcessHandle> addNewDescendants(
      ProcessHandle root, List<ProcessHandle> tree) {
    List<ProcessHandle> added = root.descendants().filter(p -> !tree.contains(p)).toList();
    tree.addAll(added);
    return added;
  }

  private boolean allGone(List<ProcessHandle> tree, OptionalLong group) {
    if (tree.stream().anyMatch(ProcessKiller::isRunning)) {
      return false;
    }
    if (group.isEmpty()) {
      return true;
    }
    Optional<List<Long>> members = runningMembers(group.getAsLong());
    if (members.isPresent()) {
      return members.get().isEmpty();
    }
    // No /proc to look at: ask the kernel whether the group still exists (zombies included).
    return !signalGroup(group.getAsLong(), "0");
  }

  /**
   * Sends {@code signal} to every process of group {@code pgid} with the {@code kill} program;
   * true if it reached at least one.
   */
  private boolean signalGroup(long pgid, String signal) {
    OptionalInt direct = LIBC_KILL.isPresent() ? signalNumber(signal) : OptionalInt.empty();
    if (direct.isPresent()) {
      try {
        // kill(2) on -pgid: the whole group in one system call, no program to start.
        return (int) LIBC_KILL.get().invokeExact((int) -pgid, direct.getAsInt()) == 0;
      } catch (Throwable e) {
        log.debug("kill(-{}, {}) failed: {}", pgid, signal, e.toString());
      }
    }
    if (killProgram.isEmpty()) {
      return false;
    }
    Path program = killProgram.get();
    try {
      Process kill =
          new ProcessBuilder(program.toString(), "-" + signal, "--", "-" + pgid)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      kill.getOutputStream().close();
      if (!kill.waitFor(KILL_COMMAND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        kill.destroyForcibly();
        log.warn("{} -{} -- -{} did not finish in {}", program, signal, pgid, KILL_COMMAND_TIMEOUT);
        return false;
      }
      // Non-zero mostly means the group is empty already: nothing left to signal.
      return kill.exitValue() == 0;
    } catch (IOException e) {
      log.warn("could not run {} to signal process group {}: {}", program, pgid, e.toString());
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      log.warn("interrupted while signalling process group {}", pgid);
      return false;
    }
  }

  /**
   * The processes of group {@code pgid} that still run (zombies excluded), from {@code /proc};
   * empty if {@code /proc} can't be listed.
   */
  static Optional<List<Long>> runningMembers(long pgid) {
    if (!Files.isDirectory(PROC.resolve("self"))) {
      return Optional.empty();
    }
    List<Long> members = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(PROC)) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        if (name.isEmpty() || !name.chars().allMatch(Character::isDigit)) {
          continue;
        }
        Optional<Stat> stat = readStat(entry.resolve("stat"));
        if (stat.isPresent() && stat.get().processGroup() == pgid && !stat.get().isZombie()) {
          members.add(Long.parseLong(name));
        }
      }
    } catch (IOException e) {
      log.debug("can't list {}: {}", PROC, e.toString());
      return Optional.empty();
    }
    return Optional.of(members);
  }

  /** Alive and not a zombie. */
  static boolean isRunning(ProcessHandle process) {
    if (!process.isAlive()) {
      return false;
    }
    Path file = PROC.resolve(Long.toString(process.pid())).resolve("stat");
    try {
      return parseStat(Files.readString(file, StandardCharsets.ISO_8859_1))
          .map(stat -> !stat.isZombie())
          .orElse(true);
    } catch (NoSuchFileException e) {
      // Gone, unless there is no /proc at all.
      return !Files.isDirectory(PROC.resolve("self")) && process.isAlive();
    } catch (IOException e) {
      log.debug("can't read {}, trusting isAlive: {}", file, e.toString());
      return process.isAlive();
    }
  }

  /** The fields of {@code /proc/PID/stat} the worker reads. */
  private record Stat(char state, long processGroup) {
    boolean isZombie() {
      return state == 'Z' || state == 'X';
    }
  }

  /** Empty if the process is gone (or its stat can't be read or parsed). */
  private static Optional<Stat> readStat(Path file) {
    try {
      return parseStat(Files.readString(file, StandardCharsets.ISO_8859_1));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      log.debug("can't read {}: {}", file, e.toString());
      return Optional.empty();
    }
  }

  private static Optional<Stat> parseStat(String text) {
    // Format: "pid (comm) S ppid pgrp ...": the fields follow the last ')'; comm may hold ')'.
    int end = text.lastIndexOf(')');
    if (end < 0 || end + 2 >= text.length()) {
      return Optional.empty();
    }
    String[] fields = text.substring(end + 2).split(" ", 4);
    if (fields.length < 3) {
      return Optional.empty();
    }
    try {
      return Optional.of(new Stat(fields[0].charAt(0), Long.parseLong(fields[2])));
    } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
      return Optional.empty();
    }
  }
}
