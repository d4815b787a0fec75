package io.hodei.core.job;

/** What a worker does when the control plane takes a job's output slower than the job writes it. */
public enum LogPolicy {
  /** Stop reading the job's pipes, so the job blocks on write: nothing is lost. The default. */
  LOSSLESS,
  /** Drop the lines that do not fit and report how many with the result. */
  DROP
}
