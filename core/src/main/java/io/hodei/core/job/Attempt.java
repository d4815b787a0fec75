package io.hodei.core.job;

import io.hodei.core.worker.WorkerId;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalInt;

/** One try at running a job on one worker. Numbered from 1. */
public record Attempt(
    int number,
    ExecutionId executionId,
    WorkerId workerId,
    JobState state,
    Instant scheduledAt,
    Optional<Instant> startedAt,
    Optional<Instant> finishedAt,
    OptionalInt exitCode,
    Optional<String> errorMessage,
    long droppedLogLines) {

  static Attempt scheduled(int number, ExecutionId executionId, WorkerId worker, Instant now) {
    return new Attempt(
        number,
        executionId,
        worker,
        JobState.SCHEDULED,
        now,
        Optional.empty(),
        Optional.empty(),
        OptionalInt.empty(),
        Optional.empty(),
        0);
  }

  Attempt started(Instant at) {
    return new Attempt(
        number,
        executionId,
        workerId,
        JobState.RUNNING,
        scheduledAt,
        Optional.of(at),
        finishedAt,
        exitCode,
        errorMessage,
        droppedLogLines);
  }

  Attempt ended(JobState finalState, Instant at, OptionalInt code, Optional<String> error) {
    return new Attempt(
        number,
        executionId,
        workerId,
        finalState,
        scheduledAt,
        startedAt,
        Optional.of(at),
        code,
        error,
        droppedLogLines);
  }

  /**
   * The attempt ended without its job having started: settled (its end and why are recorded), and
   * left in PENDING, the state its job went back to, so that it never reads as still waiting.
   */
  Attempt returnedToQueue(String why, java.time.Instant at) {
    return new Attempt(
        number,
        executionId,
        workerId,
        JobState.PENDING,
        scheduledAt,
        startedAt,
        Optional.of(at),
        exitCode,
        Optional.of("never started: " + why),
        droppedLogLines);
  }

  /** The same attempt, noting how many of its log lines the worker dropped under the drop policy. */
  Attempt withDroppedLogLines(long dropped) {
    return new Attempt(
        number, executionId, workerId, state, scheduledAt, startedAt, finishedAt, exitCode, errorMessage, dropped);
  }
}
