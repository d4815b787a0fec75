package io.hodei.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/** Reads what Linux says about a process: resident memory now and at its peak. */
final class Proc {
  private Proc() {}

  /** {@code VmHWM}: the peak resident set, in bytes; empty once the process is gone. */
  static OptionalLong peakRss(long pid) {
    return statusField(pid, "VmHWM:");
  }

  /** {@code VmRSS}: the resident set now, in bytes. */
  static OptionalLong rss(long pid) {
    return statusField(pid, "VmRSS:");
  }

  private static OptionalLong statusField(long pid, String field) {
    try {
      List<String> lines = Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"));
      for (String line : lines) {
        if (line.startsWith(field)) {
          String[] parts = line.substring(field.length()).trim().split("\\s+");
          return OptionalLong.of(Long.parseLong(parts[0]) * 1024);
        }
      }
      return OptionalLong.empty();
    } catch (IOException | RuntimeException e) {
      return OptionalLong.empty();
    }
  }

  /** CPU time the process itself has used, user plus system, in seconds; 0 once it is gone. */
  static double ownCpuSeconds(long pid) {
    return cpu(pid, false);
  }

  /**
   * CPU time the process has used, user plus system, in seconds, including the children it has
   * waited for (a worker's finished jobs); 0 once the process is gone.
   */
  static double cpuSeconds(long pid) {
    return cpu(pid, true);
  }

  private static double cpu(long pid, boolean withChildren) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // The command name in parentheses may contain spaces; the fields after it do not.
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
      if (withChildren) {
        ticks += Long.parseLong(f[13]) + Long.parseLong(f[14]);
      }
      return ticks / (double) CLOCK_TICKS;
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  /**
   * The machine's load average over the last minute ({@code /proc/loadavg}), or -1 where there
   * is none: on a shared machine it tells a run taken alone from one taken among others' builds.
   */
  static double loadAverage() {
    try {
      return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** USER_HZ: the unit of /proc/PID/stat's times, 100 on every Linux this runs on. */
  private static final long CLOCK_TICKS = 100;

  static double mib(long bytes) {
    return bytes / (1024.0 * 1024.0);
  }
}
