package io.hodei.core.auth;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The append-only record of security events. Implementations are thread-safe; {@link #record} must
 * not throw for a failing store (an audit failure is logged, not turned into a failed call).
 */
public interface AuditLog {
  /** Appends {@code event}; returns its row's id, for {@link #addRepeats}. */
  String record(AuditEvent event);

  /** Counts {@code more} identical events into the row {@code id}, the last at {@code lastAt}. */
  void addRepeats(String id, int more, java.time.Instant lastAt);

  /** Deletes events older than {@code before}, then the oldest beyond {@code keep}; returns how many. */
  long prune(java.time.Instant before, long keep);

  /**
   * Events at or after {@code since}, of {@code kind} if given, oldest first, at most {@code limit}
   * of the newest that match.
   */
  List<AuditEvent> list(Instant since, Optional<AuditEvent.Kind> kind, int limit);
}
