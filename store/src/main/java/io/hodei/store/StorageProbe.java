package io.hodei.store;

import io.hodei.core.StorageCondition;
import io.hodei.core.error.UnavailableException;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.Optional;

/**
 * A database's {@link StorageCondition}: what its last write told ({@link StorageHealth}) and, on
 * {@link #recheck()} while that was a failure, one row rewritten in table {@code storage_probe} at
 * most every {@link #EVERY}, whose outcome updates the health like any write. Thread-safe.
 */
final class StorageProbe implements StorageCondition {
  static final Duration EVERY = Duration.ofSeconds(2);

  private final Database database;
  private final Jdbc jdbc;
  private volatile long lastProbeNanos = System.nanoTime() - EVERY.toNanos();

  StorageProbe(Database database) {
    this.database = database;
    this.jdbc = new Jdbc(database);
  }

  @Override
  public Optional<Failure> failing() {
    return database.health().failing();
  }

  @Override
  public Optional<java.time.Instant> lastTrouble() {
    return database.health().lastTrouble();
  }

  @Override
  public Optional<Failure> recheck() {
    if (failing().isPresent() && System.nanoTime() - lastProbeNanos >= EVERY.toNanos()) {
      lastProbeNanos = System.nanoTime();
      try {
        jdbc.write(
            "probe the storage",
            c -> {
              try (PreparedStatement ps = c.prepareStatement("UPDATE storage_probe SET probed_at = ? WHERE id = 1")) {
                ps.setLong(1, System.currentTimeMillis());
                return ps.executeUpdate();
              }
            });
      } catch (UnavailableException e) {
        // Still failing: the health has recorded it.
      }
    }
    return failing();
  }
}
