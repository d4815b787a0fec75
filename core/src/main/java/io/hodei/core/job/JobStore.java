package io.hodei.core.job;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Durable home of jobs and their attempts. Implementations must make every method atomic on its
 * own, and {@link #update} a compare-and-set on {@link Job#version()}: of two writers that read
 * the same version, exactly one succeeds and the other gets a {@link
 * io.hodei.core.error.ConflictException}. Storage failures surface as {@link
 * io.hodei.core.error.UnavailableException}.
 */
public interface JobStore {

  /** Persists a new job; returns it as stored (version 1). */
  Job insert(Job job);

  Optional<Job> find(JobId id);

  /**
   * Persists {@code job} if the stored version still equals {@code job.version()}, together with
   * its current attempt. Returns the job with its new version.
   */
  Job update(Job job);

  /** Pending jobs in dispatch order: higher priority first, then oldest first. */
  List<Job> pending(int limit);

  Page<Job> list(JobQuery query);

  /** Every attempt of the job, oldest first. */
  List<Attempt> attempts(JobId id);

  /** How many jobs are in each state; states with none are absent. */
  Map<JobState, Long> countByState();
}
