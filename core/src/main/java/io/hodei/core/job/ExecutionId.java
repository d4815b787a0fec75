package io.hodei.core.job;

import java.util.UUID;

/**
 * Identity of one attempt of a job on one worker. Reports that carry an execution id other than the
 * job's current one are stale and refused.
 */
public record ExecutionId(String value) {
  public ExecutionId {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("execution id must not be empty");
    }
  }

  public static ExecutionId random() {
    return new ExecutionId(UUID.randomUUID().toString());
  }

  @Override
  public String toString() {
    return value;
  }
}
