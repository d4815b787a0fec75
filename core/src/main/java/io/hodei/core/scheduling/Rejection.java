package io.hodei.core.scheduling;

/** Why a candidate ("worker w-3", "provider docker") cannot take a job, in words. */
public record Rejection(String candidate, String reason) {
  @Override
  public String toString() {
    return candidate + ": " + reason;
  }
}
