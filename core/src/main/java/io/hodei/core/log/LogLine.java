package io.hodei.core.log;

import java.time.Instant;

/**
 * One line of job output, without its terminator. Output is bytes, not text: a job may print
 * anything. {@code sequence} numbers a job's lines from 0 across all its attempts.
 */
public record LogLine(long sequence, int attempt, LogStream stream, byte[] data, Instant at) {}
