package io.hodei.core.log;

import java.time.Instant;

/**
 * One line of job output, without its terminator. Output is bytes, not text: a job may print
 * anything. Read from the store, {@code sequence} numbers a job's lines from 0 across all its
 * attempts; handed to the store, it is the worker's number of the line within its attempt.
 */
public record LogLine(long sequence, int attempt, LogStream stream, byte[] data, Instant at) {}
