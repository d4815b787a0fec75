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

  static double mib(long bytes) {
    return bytes / (1024.0 * 1024.0);
  }
}
