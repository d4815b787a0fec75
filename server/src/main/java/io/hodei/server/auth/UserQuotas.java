package io.hodei.server.auth;

/**
 * What one user (any caller but an admin, and but workers on their own calls) may hold of what
 * all users share, set by the admin. A request past a quota is refused with {@code
 * RESOURCE_EXHAUSTED} naming the quota; nothing already accepted is affected.
 *
 * @param waitingJobs most of a user's jobs that are pending or scheduled at once
 * @param streams most of a user's open WatchJob, StreamLogs and StreamMetrics calls at once
 * @param logBytes most bytes of log stored for all of a user's jobs, admins' included (stored
 *     bytes are the disk's, whoever wrote them): past it, new jobs are refused and running jobs'
 *     output is cut with a marker, until log retention deletes old logs
 */
public record UserQuotas(int waitingJobs, int streams, long logBytes) {
  /** 10 GiB of stored log per user: a hundred jobs at the default per-job cap. */
  public static final long DEFAULT_LOG_BYTES = 10L << 30;

  /** 10,000 waiting jobs, 64 open streams, 10 GiB of stored log. */
  public static final UserQuotas DEFAULTS = new UserQuotas(10_000, 64, DEFAULT_LOG_BYTES);

  public UserQuotas {
    if (waitingJobs < 1 || streams < 1 || logBytes < 1) {
      throw new IllegalArgumentException("quotas must be positive, got " + waitingJobs + " waiting jobs, "
          + streams + " streams and " + logBytes + " log bytes");
    }
  }

  /** The default log quota with these counts. */
  public UserQuotas(int waitingJobs, int streams) {
    this(waitingJobs, streams, DEFAULT_LOG_BYTES);
  }

  public UserQuotas withLogBytes(long bytes) {
    return new UserQuotas(waitingJobs, streams, bytes);
  }
}
