package io.hodei.worker;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands each running job a uid (and the gid of the same number) of its own, from a configured
 * range, so that no two jobs that run at the same time share one, on this worker or on any other
 * worker of the machine.
 *
 * <p>Machine-wide exclusion: a uid is held through an exclusive lock on {@code <lockDir>/<uid>}
 * ({@code fcntl} locks, which the kernel drops when the holding process dies, so a crashed worker
 * never keeps a uid). The lock directory is owned by the worker's user, mode 0700. Before a uid
 * is handed out, every process still running under it is killed: it can only be a leftover of a
 * job whose worker died (its lock is free), and it must not meet the next job. That scan reads
 * every process's status, so it is skipped when the lock file says {@code clean}: written on
 * release only once the job's processes were seen gone, and erased when the uid is taken again.
 *
 * <p>Thread-safe: one monitor guards the held locks; the scan starts at the slot after the last
 * one handed out, so uids rotate through the range.
 */
final class JobUids {
  private static final Logger log = LoggerFactory.getLogger(JobUids.class);

  private final int first;
  private final int count;
  private final Path lockDir;
  private final Map<Integer, FileLock> held = new HashMap<>();
  private int next;

  JobUids(int first, int last, Path lockDir) throws IOException {
    if (first < 1 || last < first) {
      throw new IllegalArgumentException("job uid range must be first-last with 0 < first <= last, got " + first + "-" + last);
    }
    this.first = first;
    this.count = last - first + 1;
    this.lockDir = lockDir;
    Files.createDirectories(lockDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Files.setPosixFilePermissions(lockDir, PosixFilePermissions.fromString("rwx------"));
  }

  /** Parses {@code first-last}, e.g. {@code 190000-199999}. */
  static int[] parseRange(String text, String variable) {
    String[] parts = text.strip().split("-", 2);
    try {
      int low = Integer.parseInt(parts[0].strip());
      int high = parts.length == 2 ? Integer.parseInt(parts[1].strip()) : low;
      if (low < 1 || high < low) {
        throw new NumberFormatException();
      }
      return new int[] {low, high};
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(variable + ": expected a uid range such as 190000-199999, got '" + text + "'");
    }
  }

  /**
   * A free uid, held until {@link #release}; waits up to {@code patience} for one (a job's uid is
   * freed a moment after it ends, and other workers' uids are polled for); empty if every uid of
   * the range stayed in use.
   */
  synchronized Optional<Integer> acquire(java.time.Duration patience) throws InterruptedException {
    long deadline = System.nanoTime() + patience.toNanos();
    while (true) {
      Optional<Integer> uid = tryAcquire();
      long left = deadline - System.nanoTime();
      if (uid.isPresent() || left <= 0) {
        return uid;
      }
      wait(Math.max(1, Math.min(java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(left), 100)));
    }
  }

  private Optional<Integer> tryAcquire() {
    for (int i = 0; i < count; i++) {
      int uid = first + (next + i) % count;
      if (held.containsKey(uid)) {
        continue;
      }
      Optional<FileLock> lock = tryLock(uid);
      if (lock.isPresent()) {
        held.put(uid, lock.get());
        next = (next + i + 1) % count;
        if (!takeCleanMark(lock.get().channel())) {
          killLeftovers(uid);
        }
        return Optional.of(uid);
      }
    }
    return Optional.empty();
  }

  /**
   * Gives the uid back. {@code clean}: its processes were seen gone, so the next holder need not
   * look for leftovers.
   */
  synchronized void release(int uid, boolean clean) {
    FileLock lock = held.remove(uid);
    if (lock == null) {
      return;
    }
    try {
      if (clean) {
        lock.channel().write(java.nio.ByteBuffer.wrap(CLEAN), 0);
      }
      lock.channel().close();
    } catch (IOException e) {
      log.warn("cannot release the lock of job uid {}: {}", uid, e.toString());
    }
    notifyAll();
  }

  private static final byte[] CLEAN = "clean".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  /** Whether the file said clean; empties it either way, so a crash from now on leaves no mark. */
  private static boolean takeCleanMark(FileChannel channel) {
    try {
      java.nio.ByteBuffer content = java.nio.ByteBuffer.allocate(CLEAN.length + 1);
      channel.read(content, 0);
      channel.truncate(0);
      channel.force(false);
      return content.position() == CLEAN.length && java.util.Arrays.equals(content.array(), 0, CLEAN.length, CLEAN, 0, CLEAN.length);
    } catch (IOException e) {
      return false;
    }
  }

  private Optional<FileLock> tryLock(int uid) {
    FileChannel channel = null;
    try {
      channel = FileChannel.open(lockDir.resolve(Integer.toString(uid)), StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock = channel.tryLock();
      if (lock == null) {
        channel.close();
        return Optional.empty();
      }
      return Optional.of(lock);
    } catch (IOException | OverlappingFileLockException e) {
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      log.debug("job uid {} not available: {}", uid, e.toString());
      return Optional.empty();
    }
  }

  /**
   * SIGKILL to every process whose real or effective uid is {@code uid}, until none is left.
   * Returns how many were found.
   */
  static int killLeftovers(int uid) {
    int found = 0;
    for (int round = 0; round < 100; round++) {
      var left = ProcessScan.ofUid(uid);
      if (left.isEmpty()) {
        break;
      }
      found += left.size();
      if (round == 0) {
        log.warn("killing {} leftover process(es) of job uid {}: {}", left.size(), uid, left);
      }
      left.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    return found;
  }
}
