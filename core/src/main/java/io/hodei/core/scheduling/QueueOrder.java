package io.hodei.core.scheduling;

import io.hodei.core.job.Job;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;

/**
 * The order in which pending jobs are considered: higher priority first, FIFO within a priority,
 * and aging — a job gains one priority level for every {@code step} it has waited — so that a
 * steady stream of high-priority work cannot starve low-priority jobs forever.
 */
public final class QueueOrder {
  /** One level per minute of waiting. */
  public static final Duration DEFAULT_STEP = Duration.ofMinutes(1);

  private QueueOrder() {}

  public static long effectivePriority(Job job, Instant now, Duration step) {
    long waited = Math.max(0, Duration.between(job.createdAt(), now).toMillis());
    return job.spec().constraints().priority() + waited / Math.max(1, step.toMillis());
  }

  /** Highest effective priority first, then oldest, then by id. */
  public static Comparator<Job> comparator(Instant now, Duration step) {
    return Comparator.comparingLong((Job j) -> -effectivePriority(j, now, step))
        .thenComparing(Job::createdAt)
        .thenComparing(j -> j.id().value());
  }
}
