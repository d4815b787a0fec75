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

  /** Persists a new job and its first history event; returns it as stored (version 1). */
  Job insert(Job job, String event);

  Optional<Job> find(JobId id);

  /**
   * Persists {@code job} if the stored version still equals {@code job.version()}, together with
   * its current attempt. Returns the job with its new version. A missing job is a {@link
   * io.hodei.core.error.NotFoundException}.
   */
  Job update(Job job);

  /** As {@link #update(Job)}, and appends {@code event} to the job's history in the same step. */
  Job update(Job job, String event);

  /**
   * Pending jobs that may run at {@code now} (no retry backoff left), in dispatch order: {@link
   * io.hodei.core.scheduling.QueueOrder} — aged priority first, then oldest first.
   */
  List<Job> pending(int limit, java.time.Instant now);

  /** Scheduled and Running jobs, oldest first. */
  List<Job> active();

  /** The job whose current attempt is {@code execution}, if any. */
  Optional<Job> findByExecution(ExecutionId execution);

  /** Up to {@code max} history events of the job with sequence >= {@code fromSequence}. */
  List<JobEvent> events(JobId id, long fromSequence, int max);

  Page<Job> list(JobQuery query);

  /** Every attempt of the job, oldest first. */
  List<Attempt> attempts(JobId id);

  /** How many jobs are in each state; states with none are absent. */
  Map<JobState, Long> countByState();

  /**
   * How many jobs are Pending, Scheduled and Running; states with none are absent. Read through
   * the state's index, it costs what is active, not the whole history that {@link #countByState}
   * walks: for {@code GetQueueStatus}, which dashboards poll.
   */
  Map<JobState, Long> countActive();

  /** The page token that resumes a listing right after {@code job}: for cutting a page short. */
  String pageTokenAfter(Job job);

  /** How many of {@code owner}'s jobs have not yet started: pending or scheduled. */
  long countWaiting(String owner);
}
