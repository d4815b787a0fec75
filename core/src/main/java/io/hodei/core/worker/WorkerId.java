package io.hodei.core.worker;

import java.util.UUID;

/** Identity of a worker, chosen by the control plane when it provisions one. */
public record WorkerId(String value) {
  public WorkerId {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("worker id must not be empty");
    }
  }

  public static WorkerId random() {
    return new WorkerId("w-" + UUID.randomUUID().toString().substring(0, 13).replace("-", ""));
  }

  @Override
  public String toString() {
    return value;
  }
}
