package io.hodei.core;

import io.hodei.core.error.StorageTrouble;
import java.time.Instant;
import java.util.Optional;

/**
 * Whether the store can write now: what readiness, the metrics and jobs' waiting reasons tell while
 * an admin must fix the storage (a full disk, a read-only file system, a corrupt database).
 */
public interface StorageCondition {

  /** What is wrong and the database's own words for it. */
  record Failure(StorageTrouble trouble, String message) {
    /** One line for people: the trouble, then the database's message. */
    public String describe() {
      return trouble.words() + ": " + message;
    }
  }

  /** What was wrong at the last write; empty while writes succeed. */
  Optional<Failure> failing();

  /**
   * As {@link #failing()}, after trying one small write if the last one failed (at most every
   * few seconds), so that an idle server notices the storage was fixed.
   */
  Optional<Failure> recheck();

  /**
   * When the storage was last in trouble: the moment it recovered, or its latest failure while the
   * trouble lasts; empty if it has not failed since this process opened it. A worker's silence
   * that overlaps it is the store's, not the worker's: its heartbeats could not be taken either.
   */
  Optional<Instant> lastTrouble();

  /** Storage that is never in trouble, for stores that cannot tell. */
  StorageCondition ALWAYS_WRITABLE =
      new StorageCondition() {
        @Override
        public Optional<Failure> failing() {
          return Optional.empty();
        }

        @Override
        public Optional<Failure> recheck() {
          return Optional.empty();
        }

        @Override
        public Optional<Instant> lastTrouble() {
          return Optional.empty();
        }
      };
}
