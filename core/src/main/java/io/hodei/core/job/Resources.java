package io.hodei.core.job;

/** Compute that a job requests or a worker offers. Zero means "not stated". */
public record Resources(double cpuCores, long memoryBytes, long diskBytes, int gpu) {
  public static final Resources NONE = new Resources(0, 0, 0, 0);
}
