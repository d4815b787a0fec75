package io.hodei.worker;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fallback that keeps track of a job's processes where the worker has no cgroups for its
 * jobs: the worker becomes a child subreaper ({@code prctl(PR_SET_CHILD_SUBREAPER, 1)}), so a
 * process a job orphans (a double fork, {@code nohup … &}, {@code ( … & )}) is re-parented to the
 * worker instead of to init. It keeps the job's session, whose id is the job's pid (every job
 * leads a session of its own), so when the job ends the worker finds it among its own children
 * and kills it with its descendants. A process that also starts a session of its own ({@code
 * setsid}) is no longer attributable to its job that way: under a uid of its own the job's uid
 * finds it ({@link JobUids#killLeftovers}), otherwise it escapes, which the worker's isolation
 * report says.
 *
 * <p>A subreaper must reap what it adopts: a daemon thread collects, once a second, every zombie
 * child that is neither in the worker's own session (the JDK reaps the helpers it started) nor a
 * job's first process (its {@code Process} collects that one's status), see {@link #own}.
 *
 * <p>Thread-safe: the set of job pids is concurrent; the rest reads {@code /proc}.
 */
final class Subreaper {
  private static final Logger log = LoggerFactory.getLogger(Subreaper.class);
  private static final int PR_SET_CHILD_SUBREAPER = 36;
  private static final int WNOHANG = 1;
  private static final Duration REAP_EVERY = Duration.ofSeconds(1);
  private static final Path SELF_TASKS = Path.of("/proc/self/task");

  private static final Set<Long> jobPids = ConcurrentHashMap.newKeySet();
  private static volatile boolean active;
  private static volatile MethodHandle waitpidHandle;

  private Subreaper() {}

  /** Makes this process a child subreaper and starts reaping; whether it now is one. */
  static synchronized boolean become() {
    if (active) {
      return true;
    }
    Optional<MethodHandle> prctl = NonDumpable.prctl();
    Optional<MethodHandle> waitpid = waitpid();
    if (prctl.isEmpty() || waitpid.isEmpty()) {
      return false;
    }
    try {
      if ((int) prctl.get().invokeExact(PR_SET_CHILD_SUBREAPER, 1L) != 0) {
        return false;
      }
    } catch (Throwable e) {
      log.warn("prctl(PR_SET_CHILD_SUBREAPER) failed: {}", e.toString());
      return false;
    }
    active = true;
    waitpidHandle = waitpid.get();
    long ownSession = sessionOf(ProcessHandle.current().pid());
    Thread.ofPlatform().daemon().name("subreaper").start(() -> reapForever(waitpid.get(), ownSession));
    return true;
  }

  /** A job's first process: its status is collected by its {@code Process}, not here. */
  static void own(long pid) {
    jobPids.add(pid);
  }

  static void disown(long pid) {
    jobPids.remove(pid);
  }

  /**
   * SIGKILL to every child this process adopted from the session {@code sessionId} (a job's), and
   * to their descendants. Returns how many it found.
   */
  static int killOrphansOfSession(long sessionId) {
    if (!active) {
      return 0;
    }
    int found = 0;
    for (long child : children()) {
      if (child != sessionId && !jobPids.contains(child) && sessionOf(child) == sessionId) {
        Optional<ProcessHandle> orphan = ProcessHandle.of(child);
        if (orphan.isPresent()) {
          orphan.get().descendants().forEach(ProcessHandle::destroyForcibly);
          orphan.get().destroyForcibly();
          found++;
        }
      }
    }
    if (found > 0) {
      log.info("killed {} process(es) the job of session {} left behind", found, sessionId);
    }
    return found;
  }

  /**
   * Reaps, now, the adopted zombies that ran under {@code uid} (a job's, whose processes were just
   * killed): a zombie still counts against the container's or the machine's process limits, and
   * a fork bomb's would hold them for the reaper's next passes. A job's first process is never
   * among them: it has been collected by then, and other jobs run under other uids. Returns how
   * many it reaped.
   */
  static int reapZombiesOf(int uid) {
    MethodHandle waitpid = waitpidHandle;
    if (!active || waitpid == null) {
      return 0;
    }
    int reaped = 0;
    for (long child : children()) {
      if (jobPids.contains(child) || !isZombie(child)) {
        continue;
      }
      try {
        String status = Files.readString(Path.of("/proc", Long.toString(child), "status"), StandardCharsets.ISO_8859_1);
        if (ProcessScan.realUid(status).orElse(-1) != uid) {
          continue;
        }
        try (Arena arena = Arena.ofConfined()) {
          if ((int) waitpid.invokeExact((int) child, arena.allocate(JAVA_INT), WNOHANG) > 0) {
            reaped++;
          }
        }
      } catch (Throwable e) {
        log.debug("could not reap {}: {}", child, e.toString());
      }
    }
    return reaped;
  }

  /**
   * Reaps adopted zombies: a zombie child is reaped only once seen on two passes in a row, so a
   * job's first process, registered through {@link #own} a moment after its spawn, is never taken
   * from its {@code Process}.
   */
  private static void reapForever(MethodHandle waitpid, long ownSession) {
    Set<Long> seen = Set.of();
    while (true) {
      try {
        Thread.sleep(REAP_EVERY);
        Set<Long> zombies = new java.util.HashSet<>();
        for (long child : children()) {
          if (!jobPids.contains(child) && isZombie(child) && sessionOf(child) != ownSession) {
            if (seen.contains(child)) {
              try (Arena arena = Arena.ofConfined()) {
                int _ = (int) waitpid.invokeExact((int) child, arena.allocate(JAVA_INT), WNOHANG);
              }
            } else {
              zombies.add(child);
            }
          }
        }
        seen = zombies;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Throwable e) {
        log.debug("reaping adopted processes failed: {}", e.toString());
      }
    }
  }

  /** This process's children, from every thread's {@code children} file. */
  private static List<Long> children() {
    List<Long> children = new ArrayList<>();
    try (DirectoryStream<Path> tasks = Files.newDirectoryStream(SELF_TASKS)) {
      for (Path task : tasks) {
        try {
          for (String pid : Files.readString(task.resolve("children"), StandardCharsets.US_ASCII).strip().split("\\s+")) {
            if (!pid.isEmpty()) {
              children.add(Long.parseLong(pid));
            }
          }
        } catch (IOException | NumberFormatException e) {
          // the thread ended meanwhile
        }
      }
    } catch (IOException e) {
      log.debug("cannot list {}: {}", SELF_TASKS, e.toString());
    }
    return children;
  }

  /** Field 6 of {@code /proc/PID/stat}, the session id; -1 if the process is gone. */
  private static long sessionOf(long pid) {
    return statField(pid, 3).map(Long::parseLong).orElse(-1L);
  }

  private static boolean isZombie(long pid) {
    return statField(pid, 0).map(state -> state.equals("Z")).orElse(false);
  }

  /** A field after the command name: 0 is the state, 1 ppid, 2 pgrp, 3 session. */
  private static Optional<String> statField(long pid, int index) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.ISO_8859_1);
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return index < fields.length ? Optional.of(fields[index]) : Optional.empty();
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  private static Optional<MethodHandle> waitpid() {
    try {
      Linker linker = Linker.nativeLinker();
      return linker.defaultLookup()
          .find("waitpid")
          .map(s -> linker.downcallHandle(s, FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT)));
    } catch (RuntimeException | LinkageError e) {
      return Optional.empty();
    }
  }
}
