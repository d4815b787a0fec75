package io.hodei.core.secret;

import io.hodei.core.job.JobId;
import io.hodei.core.worker.WorkerId;
import java.time.Instant;
import java.util.SortedSet;
import java.util.TreeSet;

/** An audit record: these secret names were handed to this attempt of the job on this worker. */
public record SecretDelivery(JobId job, int attempt, String executionId, WorkerId worker, SortedSet<String> names, Instant at) {
  public SecretDelivery {
    names = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(names));
  }
}
