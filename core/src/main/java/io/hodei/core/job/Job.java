package io.hodei.core.job;

import io.hodei.core.error.IllegalTransitionException;
import io.hodei.core.worker.WorkerId;
import java.time.Instant;
import java.util.Locale;
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
 * @param notBefore while Pending after a failed attempt: the end of its retry backoff
 * @param progress the last progress the running attempt reported
 * @param cancel set once someone asked to cancel; a Running job stays Running until its worker
 *     confirms the kill
 * @param owner name of the principal that queued the job; empty for jobs queued before
 *     authentication existed, which only admins may see
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
    Optional<Instant> notBefore,
    Progress progress,
    Optional<CancelRequest> cancel,
    long version,
    String owner) {

  /** Progress as the running attempt reported it. */
  public record Progress(double percent, String message) {
    public static final Progress NONE = new Progress(0, "");
  }

  /** A new Pending job without an owner: only admins see it. */
  public static Job queued(JobId id, JobSpec spec, Instant now) {
    return queued(id, spec, "", now);
  }

  /** A new Pending job queued by the principal named {@code owner}. */
  public static Job queued(JobId id, JobSpec spec, String owner, Instant now) {
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
        Optional.empty(),
        Progress.NONE,
        Optional.empty(),
        0, owner);
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
        Optional.empty(),
        Progress.NONE,
        cancel,
        version, owner);
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
    return finish(execution, outcome, startedAt, at, 0);
  }

  /** As {@link #finish(ExecutionId, Outcome, Instant, Instant)}, noting lines dropped under the drop log policy. */
  public Job finish(ExecutionId execution, Outcome outcome, Instant startedAt, Instant at, long droppedLogLines) {
    requireCurrent(execution);
    Job from = this;
    if (state == JobState.SCHEDULED && outcome.impliesStart()) {
      from = start(execution, startedAt);
    }
    JobState next = outcome.finalState();
    from.check(next);
    OptionalInt code =
        switch (outcome) {
          case Outcome.Exited e -> OptionalInt.of(e.exitCode());
          case Outcome.Failed f -> f.exitCode();
          default -> OptionalInt.empty();
        };
    Optional<String> error =
        switch (outcome) {
          case Outcome.Exited e when e.exitCode() != 0 ->
              Optional.of("exited with code " + e.exitCode());
          case Outcome.Exited e -> Optional.empty();
          case Outcome.Failed f -> Optional.of(f.error());
          case Outcome.FailedToStart f -> Optional.of(f.reason());
          case Outcome.Cancelled c -> Optional.of("cancelled: " + c.reason());
          case Outcome.WorkerLost w -> Optional.of(w.reason());
          case Outcome.TimedOut t ->
              Optional.of(
                  "timed out after "
                      + spec.timeout().map(Job::humanDuration).orElse("its timeout"));
        };
    Attempt ended = from.current.orElseThrow().ended(next, at, code, error).withDroppedLogLines(droppedLogLines);
    return from.with(next, at, Optional.of(at), Optional.of(ended));
  }

  /** Scheduled -> Pending: the dispatch never reached a worker that could run it. */
  public Job returnToQueue(String reason, Instant now) {
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
        current.map(a -> a.returnedToQueue(reason, now)),
        reason,
        Optional.empty(),
        Progress.NONE,
        cancel,
        version, owner);
  }

  /** Final, with no automatic retry coming: watchers and log followers may stop here. */
  public boolean isSettled() {
    return state.isFinal() && !canRetry();
  }

  /** Whether the retry policy gives this failed or timed-out job another attempt. */
  public boolean canRetry() {
    return (state == JobState.FAILED || state == JobState.TIMEOUT)
        && cancel.isEmpty()
        && attempts < spec.retryPolicy().maxAttempts();
  }

  /** Failed or Timeout -> Pending, to run again once {@code notBefore} has passed (UC9). */
  public Job retryAfter(Instant notBefore, Instant now) {
    if (!canRetry()) {
      throw new IllegalTransitionException(
          "job " + id + " has no retry left (" + state + ", attempt " + attempts + " of "
              + spec.retryPolicy().maxAttempts() + ")");
    }
    check(JobState.PENDING);
    return new Job(
        id,
        spec,
        JobState.PENDING,
        createdAt,
        now,
        Optional.empty(),
        attempts,
        current,
        "retry " + (attempts + 1) + " of " + spec.retryPolicy().maxAttempts()
            + " waits for its backoff",
        Optional.of(notBefore),
        Progress.NONE,
        Optional.empty(),
        version, owner);
  }

  /** A final Failed, Timeout or Cancelled job goes back to Pending on request, beyond its policy. */
  public Job retryManually(Instant now) {
    if (state != JobState.FAILED && state != JobState.TIMEOUT && state != JobState.CANCELLED) {
      throw new IllegalTransitionException(
          "only a failed, timed-out or cancelled job can be retried; job " + id + " is " + state);
    }
    check(JobState.PENDING);
    return new Job(
        id,
        spec,
        JobState.PENDING,
        createdAt,
        now,
        Optional.empty(),
        attempts,
        current,
        "waiting for a worker (manual retry)",
        Optional.empty(),
        Progress.NONE,
        Optional.empty(),
        version, owner);
  }

  /**
   * Asks for the job to stop (UC7). Pending and Scheduled jobs end Cancelled at once; a Running
   * job keeps running until its worker reports the kill. Asking again is a no-op.
   */
  public Job requestCancel(String reason, String requestedBy, Instant now) {
    if (state.isFinal()) {
      throw new IllegalTransitionException(
          "job " + id + " is already " + state.name().toLowerCase(Locale.ROOT) + "; nothing to cancel");
    }
    if (cancel.isPresent()) {
      return this;
    }
    var request = Optional.of(new CancelRequest(reason, requestedBy, now));
    return switch (state) {
      case RUNNING ->
          new Job(
              id, spec, state, createdAt, now, finishedAt, attempts, current, waitingReason,
              notBefore, progress, request, version, owner);
      case SCHEDULED -> {
        Attempt ended =
            current
                .orElseThrow()
                .ended(JobState.CANCELLED, now, OptionalInt.empty(), Optional.of("cancelled: " + reason));
        yield new Job(
            id, spec, JobState.CANCELLED, createdAt, now, Optional.of(now), attempts,
            Optional.of(ended), "", Optional.empty(), progress, request, version, owner);
      }
      default ->
          new Job(
              id, spec, JobState.CANCELLED, createdAt, now, Optional.of(now), attempts, current,
              "", Optional.empty(), progress, request, version, owner);
    };
  }

  /** Progress reported by the worker running {@code execution}. */
  public Job reportProgress(ExecutionId execution, double percent, String message, Instant now) {
    requireCurrent(execution);
    if (state != JobState.RUNNING) {
      throw new IllegalTransitionException("job " + id + " is " + state + "; progress needs RUNNING");
    }
    return new Job(
        id, spec, state, createdAt, now, finishedAt, attempts, current, waitingReason, notBefore,
        new Progress(Math.max(0, Math.min(100, percent)), message), cancel, version, owner);
  }

  /** Records what a Pending job waits for. Not a state change. */
  public Job waitingFor(String reason) {
    return new Job(
        id, spec, state, createdAt, updatedAt, finishedAt, attempts, current, reason, notBefore,
        progress, cancel, version, owner);
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
        id, spec, state, createdAt, updatedAt, finishedAt, attempts, current, waitingReason,
        notBefore, progress, cancel, newVersion, owner);
  }

  static String humanDuration(java.time.Duration d) {
    return d.toString().substring(2).toLowerCase(Locale.ROOT);
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
        id, spec, next, createdAt, now, finished, attempts, attempt, "", Optional.empty(),
        progress, cancel, version, owner);
  }
}
