package io.hodei.core.job;

import java.util.OptionalInt;

/** How an execution ended, as the worker (or the server, for a lost worker) saw it. */
public sealed interface Outcome {

  /** The process ran and exited with {@code exitCode}. */
  record Exited(int exitCode) implements Outcome {}

  /** The worker declared the attempt failed, with or without an exit code (FailJob). */
  record Failed(OptionalInt exitCode, String error) implements Outcome {}

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
      case Failed f -> JobState.FAILED;
      case FailedToStart f -> JobState.FAILED;
      case Cancelled c -> JobState.CANCELLED;
      case TimedOut t -> JobState.TIMEOUT;
      case WorkerLost w -> JobState.FAILED;
    };
  }

  /** Whether a report of this outcome means the process did start. */
  default boolean impliesStart() {
    return !(this instanceof FailedToStart || this instanceof WorkerLost || this instanceof Cancelled);
  }
}
