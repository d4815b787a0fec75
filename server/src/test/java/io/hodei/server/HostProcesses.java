package io.hodei.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The host's process table as a test sees it. Jobs run in sandboxes of their own (own pid
 * namespace, a private file system without the test's directories), so a test can no longer ask a
 * job to write down its pids; it finds the job's processes from the host instead, by their exact
 * command line. {@link #uniqueSleep} gives a job a command line no other process on the machine
 * has (other tests, other engineers' runs of the same test).
 */
final class HostProcesses {
  private HostProcesses() {}

  /**
   * A duration for {@code sleep} that no one else uses: {@code base} seconds plus a random
   * fraction, e.g. {@code 300.482913577}.
   */
  static String uniqueSleep(int baseSeconds) {
    return baseSeconds + "." + (100_000_000 + ThreadLocalRandom.current().nextInt(900_000_000));
  }

  /** The pids of the live (not zombie) processes whose command line is exactly {@code argv}. */
  static List<Long> withArguments(String... argv) {
    List<String> wanted = Arrays.asList(argv);
    List<Long> pids = new ArrayList<>();
    try (var entries = Files.list(Path.of("/proc"))) {
      for (Path entry : entries.toList()) {
        String name = entry.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit)) {
          continue;
        }
        long pid = Long.parseLong(name);
        if (wanted.equals(commandLine(pid)) && alive(pid)) {
          pids.add(pid);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot list /proc", e);
    }
    return pids;
  }

  /** The command line of {@code pid}; empty if it is gone (or a kernel thread). */
  static List<String> commandLine(long pid) {
    try {
      byte[] raw = Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline"));
      if (raw.length == 0) {
        return List.of();
      }
      String text = new String(raw, StandardCharsets.UTF_8);
      if (text.endsWith("\0")) {
        text = text.substring(0, text.length() - 1);
      }
      return List.of(text.split("\0", -1));
    } catch (IOException gone) {
      return List.of();
    }
  }

  /** Whether {@code pid} is a process that has not exited (a zombie has). */
  static boolean alive(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      return !stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
    } catch (IOException gone) {
      return false;
    }
  }

  /** SIGKILLs every process whose command line is exactly {@code argv} (a test's clean-up). */
  static void killAll(String... argv) {
    for (long pid : withArguments(argv)) {
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }
  }
}
