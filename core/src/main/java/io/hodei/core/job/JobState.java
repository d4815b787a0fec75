package io.hodei.core.job;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The seven states of a job (seed UC3) and the one table of legal transitions between them.
 *
 * <pre>
 * Pending   -> Scheduled | Cancelled
 * Scheduled -> Running | Pending (dispatch lost) | Failed (could not start) | Cancelled
 * Running   -> Succeeded | Failed | Cancelled | Timeout
 * Failed    -> Pending (retry)
 * Timeout   -> Pending (retry)
 * Cancelled -> Pending (manual retry)
 * Succeeded -> (none)
 * </pre>
 */
public enum JobState {
  PENDING,
  SCHEDULED,
  RUNNING,
  SUCCEEDED,
  FAILED,
  CANCELLED,
  TIMEOUT;

  private static final Map<JobState, Set<JobState>> LEGAL = new EnumMap<>(JobState.class);

  static {
    LEGAL.put(PENDING, EnumSet.of(SCHEDULED, CANCELLED));
    LEGAL.put(SCHEDULED, EnumSet.of(RUNNING, PENDING, FAILED, CANCELLED));
    LEGAL.put(RUNNING, EnumSet.of(SUCCEEDED, FAILED, CANCELLED, TIMEOUT));
    LEGAL.put(SUCCEEDED, EnumSet.noneOf(JobState.class));
    LEGAL.put(FAILED, EnumSet.of(PENDING));
    LEGAL.put(CANCELLED, EnumSet.of(PENDING));
    LEGAL.put(TIMEOUT, EnumSet.of(PENDING));
  }

  public boolean canTransitionTo(JobState next) {
    return LEGAL.get(this).contains(next);
  }

  /** Final states end an attempt; only a retry moves a job out of one. */
  public boolean isFinal() {
    return this == SUCCEEDED || this == FAILED || this == CANCELLED || this == TIMEOUT;
  }

  /** The job holds (or is about to hold) a worker. */
  public boolean isActive() {
    return this == SCHEDULED || this == RUNNING;
  }
}
