package io.hodei.core.secret;

import io.hodei.core.job.JobId;
import java.util.List;
import java.util.Map;

/**
 * Where the values of a job's secrets wait between {@code QueueJob} and the job's end. An adapter
 * must keep them encrypted at rest and must never log them.
 *
 * <p>Invariants: {@link #reveal} returns exactly what {@link #keep} was given for the job, until
 * {@link #discard}; after that, and for a job that never had secrets, it returns an empty map.
 * Delivery records hold names only and outlive {@link #discard}: they are the audit trail.
 *
 * <p>Implementations are thread-safe.
 */
public interface SecretVault {

  /** Keeps the job's secret values (name to value), replacing any kept before. */
  void keep(JobId job, Map<String, String> secrets);

  /** The job's secret values; empty once discarded. */
  Map<String, String> reveal(JobId job);

  /** Forgets the job's values, for good. Idempotent. */
  void discard(JobId job);

  /** Records which secrets (names) went to which attempt on which worker. */
  void recordDelivery(SecretDelivery delivery);

  /** The job's delivery records, oldest first. */
  List<SecretDelivery> deliveries(JobId job);
}
