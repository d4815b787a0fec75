package io.hodei.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time a process has used so far (user plus system, from {@code /proc/PID/stat}), so that
 * {@link LogsBench} can say where a flood's CPU went: worker or server. Linux only; 0 elsewhere.
 */
final class LogsCpu {
  /** {@code USER_HZ}: the unit of the stat file's times on every Linux architecture hodei runs on. */
  private static final double TICKS_PER_SECOND = 100.0;

  private LogsCpu() {}

  static double seconds(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // Fields after the command name, which is in parentheses and may hold spaces.
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
      return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / TICKS_PER_SECOND;
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }
}
