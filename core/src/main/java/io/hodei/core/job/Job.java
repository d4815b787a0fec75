package io.hodei.core.job;

import io.hodei.core.error.IllegalTransitionException;
import io.hodei.core.worker.WorkerId;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A job and where it stands. Immutable: every change is an intent-named method that checks the
 * {@link JobState} table and returns the new value. {@code version} is the store's optimistic lock
 * and is only advanced by the store.
 *
 * @param attempts how many attempts have been scheduled so far
 * @param current the latest attempt, if any was ever scheduled
 * @param waitingReason while Pending: what the job waits for, in words; empty otherwise
 */
public record Job(
    JobId id,
    JobSpec spec,
    JobState state,
    Instant createdAt,
    Instant updatedAt,
    Optional<Instant> finishedAt,
    int attempts,
    Optional<Attempt> current,
    String waitingReason,
    long version) {

  public static Job queued(JobId id, JobSpec spec, Instant now) {
    return new Job(
        id,
        spec,
        JobState.PENDING,
        now,
        now,
        Optional.empty(),
        0,
        Optional.empty(),
        "waiting for a worker",
        0);
  }

  /** Pending -> Scheduled: a new attempt on {@code worker}. */
  public Job assignTo(WorkerId worker, ExecutionId execution, Instant now) {
    check(JobState.SCHEDULED);
    int number = attempts + 1;
    return new Job(
        id,
        spec,
        JobState.SCHEDULED,
        createdAt,
        now,
        Optional.empty(),
        number,
        Optional.of(Attempt.scheduled(number, execution, worker, now)),
        "",
        version);
  }

  /** Scheduled -> Running, reported by the worker holding {@code execution}. */
  public Job start(ExecutionId execution, Instant at) {
    Attempt attempt = requireCurrent(execution);
    check(JobState.RUNNING);
    return with(JobState.RUNNING, at, Optional.empty(), Optional.of(attempt.started(at)));
  }

  /**
   * Ends the current attempt as {@code outcome} says. A result that arrives while the job is still
   * Scheduled (its start report was never seen) implies the start.
   */
  public Job finish(ExecutionId execution, Outcome outcome, Instant startedAt, Instant at) {
    requireCurrent(execution);
    Job from = this;
    if (state == JobState.SCHEDULED
        && !(outcome instanceof Outcome.FailedToStart || outcome instanceof Outcome.WorkerLost)) {
      from = start(execution, startedAt);
    }
    JobState next = outcome.finalState();
    from.check(next);
    OptionalInt code =
        outcome instanceof Outcome.Exited e ? OptionalInt.of(e.exitCode()) : OptionalInt.empty();
    Optional<String> error =
        switch (outcome) {
          case Outcome.Exited e when e.exitCode() != 0 ->
              Optional.of("exited with code " + e.exitCode());
          case Outcome.Exited e -> Optional.empty();
          case Outcome.FailedToStart f -> Optional.of(f.reason());
          case Outcome.Cancelled c -> Optional.of("cancelled: " + c.reason());
          case Outcome.WorkerLost w -> Optional.of(w.reason());
          case Outcome.TimedOut t ->
              Optional.of(
                  "timed out after "
                      + spec.timeout()
                          .map(d -> d.toString().substring(2).toLowerCase(java.util.Locale.ROOT))
                          .orElse("its timeout"));
        };
    Attempt ended = from.current.orElseThrow().ended(next, at, code, error);
    return from.with(next, at, Optional.of(at), Optional.of(ended));
  }

  /** Scheduled -> Pending: the dispatch never reached a worker that could run it. */
  public Job returnToQueue(String reason, Instant now) {
    check(JobState.PENDING);
    if (state != JobState.SCHEDULED) {
      throw new IllegalTransitionException("job " + id + " is " + state + ", not SCHEDULED");
    }
    return new Job(
        id,
        spec,
        JobState.PENDING,
        createdAt,
        now,
        Optional.empty(),
        attempts,
        current.map(Attempt::returnedToQueue),
        reason,
        version);
  }

  /** Records what a Pending job waits for. Not a state change. */
  public Job waitingFor(String reason) {
    return new Job(
        id, spec, state, createdAt, updatedAt, finishedAt, attempts, current, reason, version);
  }

  public Optional<WorkerId> workerId() {
    return current.filter(a -> state.isActive()).map(Attempt::workerId);
  }

  public Optional<ExecutionId> executionId() {
    return current.map(Attempt::executionId);
  }

  /** The exit code of the latest attempt, once it has one. */
  public OptionalInt exitCode() {
    return current.map(Attempt::exitCode).orElse(OptionalInt.empty());
  }

  public Optional<String> errorMessage() {
    return current.flatMap(Attempt::errorMessage);
  }

  /** Used by the store after it has persisted a change. */
  public Job withVersion(long newVersion) {
    return new Job(
        id,
        spec,
        state,
        createdAt,
        updatedAt,
        finishedAt,
        attempts,
        current,
        waitingReason,
        newVersion);
  }

  private Attempt requireCurrent(ExecutionId execution) {
    return current
        .filter(a -> a.executionId().equals(execution))
        .filter(a -> state.isActive())
        .orElseThrow(
            () ->
                new IllegalTransitionException(
                    "execution "
                        + execution
                        + " is not the active execution of job "
                        + id
                        + " (job is "
                        + state
                        + ")"));
  }

  private void check(JobState next) {
    if (!state.canTransitionTo(next)) {
      throw new IllegalTransitionException(
          "job " + id + " cannot go from " + state + " to " + next);
    }
  }

  private Job with(
      JobState next, Instant now, Optional<Instant> finished, Optional<Attempt> attempt) {
    return new Job(
        id, spec, next, createdAt, now, finished, attempts, attempt, "", version);
  }
}
