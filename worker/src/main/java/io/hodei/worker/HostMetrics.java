package io.hodei.worker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * Reads the machine's figures from a {@code /proc} directory: cumulative cpu times ({@code stat}),
 * memory ({@code meminfo}) and the load average ({@code loadavg}). Immutable and thread-safe; every
 * call reads the files anew, and a missing or malformed file gives an empty result rather than an
 * exception.
 */
final class HostMetrics {
  /**
   * The machine's cpu time since boot, in clock ticks: busy (everything but idle and iowait) and
   * total, and how many cpus {@code stat} lists.
   */
  record CpuTimes(long busyTicks, long totalTicks, int cpuCount) {}

  /** Total and available memory, in bytes. */
  record Memory(long totalBytes, long availableBytes) {
    long usedBytes() {
      return Math.max(0, totalBytes - availableBytes);
    }
  }

  private final Path proc;

  /**
   * @param proc the {@code /proc} directory (a copy of its files in tests)
   */
  HostMetrics(Path proc) {
    this.proc = proc;
  }

  /** From the {@code cpu} line of {@code stat}: user nice system idle iowait irq softirq steal. */
  Optional<CpuTimes> cpuTimes() {
    List<String> lines;
    try {
      lines = Files.readAllLines(proc.resolve("stat"));
    } catch (IOException e) {
      return Optional.empty();
    }
    long[] aggregate = null;
    int cpus = 0;
    for (String line : lines) {
      if (line.startsWith("cpu ")) {
        aggregate = ticks(line);
      } else if (line.startsWith("cpu")) {
        cpus++;
      }
    }
    if (aggregate == null || aggregate.length < 4) {
      return Optional.empty();
    }
    long total = 0;
    // guest and guest_nice (fields 9 and 10) are already counted in user and nice.
    for (int i = 0; i < Math.min(8, aggregate.length); i++) {
      total += aggregate[i];
    }
    long idle = aggregate[3] + (aggregate.length > 4 ? aggregate[4] : 0);
    return Optional.of(new CpuTimes(total - idle, total, cpus));
  }

  /** {@code MemTotal} and {@code MemAvailable} (before Linux 3.14: free + buffers + cached). */
  Optional<Memory> memory() {
    List<String> lines;
    try {
      lines = Files.readAllLines(proc.resolve("meminfo"));
    } catch (IOException e) {
      return Optional.empty();
    }
    long total = -1;
    long available = -1;
    long freeBuffersCached = 0;
    for (String line : lines) {
      String[] parts = line.split(":\\s*", 2);
      if (parts.length < 2) {
        continue;
      }
      long kib = kib(parts[1]);
      switch (parts[0]) {
        case "MemTotal" -> total = kib;
        case "MemAvailable" -> available = kib;
        case "MemFree", "Buffers", "Cached" -> freeBuffersCached += Math.max(0, kib);
        default -> {}
      }
    }
    if (total < 0) {
      return Optional.empty();
    }
    return Optional.of(
        new Memory(total * 1024, (available >= 0 ? available : freeBuffersCached) * 1024));
  }

  /** The first field of {@code loadavg}. */
  OptionalDouble loadAverage1m() {
    try {
      String[] parts = Files.readString(proc.resolve("loadavg")).strip().split("\\s+");
      return OptionalDouble.of(Double.parseDouble(parts[0]));
    } catch (IOException | NumberFormatException e) {
      return OptionalDouble.empty();
    }
  }

  private static long[] ticks(String cpuLine) {
    String[] parts = cpuLine.strip().split("\\s+");
    long[] values = new long[parts.length - 1];
    try {
      for (int i = 1; i < parts.length; i++) {
        values[i - 1] = Long.parseLong(parts[i]);
      }
    } catch (NumberFormatException e) {
      return null;
    }
    return values;
  }

  /** {@code "16318460 kB"} → 16318460; -1 when malformed. */
  private static long kib(String value) {
    String number = value.strip().split("\\s+")[0];
    try {
      return Long.parseLong(number);
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
