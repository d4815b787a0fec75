package io.hodei.server.auth;

/**
 * What one user (any caller but an admin, and but workers on their own calls) may hold of what
 * all users share, set by the admin. A request past a quota is refused with {@code
 * RESOURCE_EXHAUSTED} naming the quota; nothing already accepted is affected.
 *
 * @param waitingJobs most of a user's jobs that are pending or scheduled at once
 * @param streams most of a user's open WatchJob, StreamLogs and StreamMetrics calls at once
 */
public record UserQuotas(int waitingJobs, int streams) {
  /** 10,000 waiting jobs, 64 open streams. */
  public static final UserQuotas DEFAULTS = new UserQuotas(10_000, 64);

  public UserQuotas {
    if (waitingJobs < 1 || streams < 1) {
      throw new IllegalArgumentException("quotas must be positive, got " + waitingJobs + " waiting jobs and " + streams + " streams");
    }
  }
}
