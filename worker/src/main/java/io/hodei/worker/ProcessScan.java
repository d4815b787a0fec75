package io.hodei.worker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * Finds processes by uid in {@code /proc}. The uid comes from each process's {@code status}
 * ({@code Uid:} real, effective, saved, file-system): unlike the owner of {@code /proc/PID}, it
 * cannot be hidden by a process that makes itself non-dumpable.
 *
 * <p>Stateless and thread-safe; a process that ends during the scan is simply not listed.
 */
final class ProcessScan {
  private static final Path PROC = Path.of("/proc");

  private ProcessScan() {}

  /** The pids of live (not zombie) processes any of whose uids is {@code uid}. */
  static List<Long> ofUid(int uid) {
    List<Long> pids = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(PROC)) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        if (name.isEmpty() || name.charAt(0) < '1' || name.charAt(0) > '9') {
          continue;
        }
        try {
          String status = Files.readString(entry.resolve("status"), StandardCharsets.ISO_8859_1);
          if (!zombie(status) && hasUid(status, uid)) {
            pids.add(Long.parseLong(name));
          }
        } catch (IOException | NumberFormatException e) {
          // ended meanwhile
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot list /proc", e);
    }
    return pids;
  }

  /** The real uid in a {@code /proc/PID/status} text. */
  static OptionalInt realUid(String status) {
    int at = status.indexOf("\nUid:");
    if (at < 0) {
      return OptionalInt.empty();
    }
    String[] fields = status.substring(at + 5, status.indexOf('\n', at + 1)).strip().split("\\s+");
    return OptionalInt.of(Integer.parseInt(fields[0]));
  }

  private static boolean hasUid(String status, int uid) {
    int at = status.indexOf("\nUid:");
    if (at < 0) {
      return false;
    }
    int end = status.indexOf('\n', at + 1);
    for (String field : status.substring(at + 5, end < 0 ? status.length() : end).strip().split("\\s+")) {
      if (field.equals(Integer.toString(uid))) {
        return true;
      }
    }
    return false;
  }

  private static boolean zombie(String status) {
    int at = status.indexOf("\nState:");
    return at >= 0 && status.length() > at + 8 && "ZX".indexOf(status.charAt(status.indexOf(':', at) + 2)) >= 0;
  }
}
