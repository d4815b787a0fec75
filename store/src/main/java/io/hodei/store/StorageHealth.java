package io.hodei.store;

import io.hodei.core.StorageCondition.Failure;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What is wrong with one database's storage now, if anything, told to the log once: the first
 * failure with its cause (no stack trace), then a count once a minute while it lasts, then its
 * end. A disk that fills under load would otherwise write a stack trace per call. Thread-safe.
 */
public final class StorageHealth {
  private static final Logger log = LoggerFactory.getLogger(StorageHealth.class);
  private static final long REPEAT_EVERY_NANOS = Duration.ofMinutes(1).toNanos();

  private volatile Optional<Failure> failing = Optional.empty();
  private final AtomicLong since = new AtomicLong();

  private volatile long lastLogNanos;
  private volatile Optional<Instant> lastTrouble = Optional.empty();

  /** What is wrong now, with its first message; empty while the storage works. */
  public Optional<Failure> failing() {
    return failing;
  }

  /** When it was last in trouble: its recovery, or its latest failure while that lasts. */
  public Optional<Instant> lastTrouble() {
    return lastTrouble;
  }

  void failed(io.hodei.core.error.StorageTrouble trouble, String message) {
    lastTrouble = Optional.of(Instant.now());
    Optional<Failure> now = failing;
    long count = since.incrementAndGet();
    if (now.isEmpty() || now.get().trouble() != trouble) {
      failing = Optional.of(new Failure(trouble, message));
      lastLogNanos = System.nanoTime();
      log.error("storage: {}: {}; calls that write are refused until it is fixed", trouble.words(), message);
    } else if (System.nanoTime() - lastLogNanos > REPEAT_EVERY_NANOS) {
      lastLogNanos = System.nanoTime();
      log.error("storage: {} still ({} failed calls so far): {}", trouble.words(), count, message);
    }
  }

  void succeeded() {
    Optional<Failure> was = failing;
    if (was.isPresent()) {
      lastTrouble = Optional.of(Instant.now());
      failing = Optional.empty();
      log.info("storage: recovered from '{}' after {} failed calls", was.get().trouble().words(), since.getAndSet(0));
    }
  }
}
