package io.hodei.server.auth;

import java.time.Duration;

/**
 * How long the audit log keeps its events and how many at most: older ones, then the oldest
 * beyond the count, are deleted every hour.
 *
 * @param maxAge events older than this are deleted
 * @param maxRows at most this many rows are kept (a row may stand for many repeated events)
 */
public record AuditRetention(Duration maxAge, long maxRows) {
  /** 90 days, a million rows. */
  public static final AuditRetention DEFAULTS = new AuditRetention(Duration.ofDays(90), 1_000_000);

  public AuditRetention {
    if (!maxAge.isPositive() || maxRows < 1) {
      throw new IllegalArgumentException(
          "audit retention must be a positive age and row count, got " + io.hodei.core.DurationText.format(maxAge) + " and " + maxRows);
    }
  }
}
