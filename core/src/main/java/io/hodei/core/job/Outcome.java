package io.hodei.core.job;

/** How an execution ended, as the worker saw it. Decides the job's final state. */
public sealed interface Outcome {

  /** The process ran and exited with {@code exitCode}. */
  record Exited(int exitCode) implements Outcome {}

  /** The process could not be started at all. */
  record FailedToStart(String reason) implements Outcome {}

  /** The job was stopped on request. */
  record Cancelled(String reason) implements Outcome {}

  /** The job ran past its timeout and was stopped. */
  record TimedOut() implements Outcome {}

  /** The worker running the job vanished; the process's fate is unknown. */
  record WorkerLost(String reason) implements Outcome {}

  default JobState finalState() {
    return switch (this) {
      case Exited e -> e.exitCode() == 0 ? JobState.SUCCEEDED : JobState.FAILED;
      case FailedToStart f -> JobState.FAILED;
      case Cancelled c -> JobState.CANCELLED;
      case TimedOut t -> JobState.TIMEOUT;
      case WorkerLost w -> JobState.FAILED;
    };
  }
}
