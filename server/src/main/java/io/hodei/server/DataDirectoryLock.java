package io.hodei.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One control plane per data directory: an exclusive {@code fcntl} lock on {@code DATA/lock},
 * held for the life of the process (the kernel drops it when the process dies, however it dies),
 * with the holder's pid and, once known, its address written in the file for whoever is refused.
 * Two control planes on one SQLite database would each settle the other's running jobs as lost.
 * Replicas of a server database may share a data directory (its secret key, admin token and
 * workers' logs): each then locks {@code DATA/lock-REPLICA} ({@link #forReplica}).
 */
final class DataDirectoryLock implements AutoCloseable {
  static final String FILE = "lock";

  private final FileChannel channel;
  private final FileLock lock;

  private DataDirectoryLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Takes the lock, or refuses naming the holder.
   *
   * @throws IllegalStateException if another process holds it: its pid and address, as it wrote them
   */
  static DataDirectoryLock take(Path data) {
    return take(data, FILE, "", "--data-dir");
  }

  /** As {@link #take(Path)}, for replica {@code replicaId} of a database the data directory does not hold. */
  static DataDirectoryLock forReplica(Path data, String replicaId) {
    return take(data, FILE + "-" + replicaId, " as replica " + replicaId, "--replica-id");
  }

  private static DataDirectoryLock take(Path data, String name, String as, String other) {
    Path file = data.resolve(name);
    try {
      Files.createDirectories(data);
      FileChannel channel =
          FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (java.nio.channels.OverlappingFileLockException e) {
        lock = null; // this very process holds it already
      } catch (IOException | RuntimeException e) {
        channel.close();
        throw e;
      }
      if (lock == null) {
        String holder = holder(channel);
        channel.close();
        throw new IllegalStateException(
            "another control plane uses " + data + as + " (" + (holder.isEmpty() ? "pid unknown" : holder)
                + "); stop it, or give this one another " + other);
      }
      var taken = new DataDirectoryLock(channel, lock);
      taken.record("pid " + ProcessHandle.current().pid());
      return taken;
    } catch (IOException e) {
      throw new IllegalStateException("cannot lock " + file + ": " + e.getMessage(), e);
    }
  }

  /** Writes who holds the lock, for the next one refused: {@code pid N, port P}. */
  void record(String holder) {
    try {
      channel.truncate(0);
      channel.write(ByteBuffer.wrap((holder + "\n").getBytes(StandardCharsets.UTF_8)), 0);
      channel.force(false);
    } catch (IOException e) {
      // Only the message of a refused second start would lack it.
    }
  }

  private static String holder(FileChannel channel) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(256);
    channel.read(buffer, 0);
    return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8).strip();
  }

  @Override
  public void close() {
    try {
      lock.release();
      channel.close();
    } catch (IOException e) {
      // the process is ending; the kernel drops the lock with the descriptor anyway
    }
  }
}
