package io.hodei.core.log;

import java.time.Instant;

/**
 * One line of job output, without its terminator. Output is bytes, not text: a job may print
 * anything. Read from the store, {@code sequence} numbers a job's lines from 0 across all its
 * attempts; handed to the store, it is the worker's number of the line within its attempt.
 * {@code noNewline}: the job wrote no newline after these bytes (a piece of a longer line, or its
 * output's end), so a reader that adds one after every other line gives back the exact output.
 */
public record LogLine(long sequence, int attempt, LogStream stream, byte[] data, Instant at, boolean noNewline) {
  /** A line the job ended with a newline. */
  public LogLine(long sequence, int attempt, LogStream stream, byte[] data, Instant at) {
    this(sequence, attempt, stream, data, at, false);
  }
}
