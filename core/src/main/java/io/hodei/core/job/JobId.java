package io.hodei.core.job;

import io.hodei.core.error.InvalidSpecException;
import java.util.UUID;

/** Identity of a job. Random, so ids never collide across servers sharing a store. */
public record JobId(String value) {
  public JobId {
    if (value == null || value.isBlank()) {
      throw new InvalidSpecException("job_id", "must not be empty");
    }
  }

  public static JobId random() {
    return new JobId(UUID.randomUUID().toString());
  }

  @Override
  public String toString() {
    return value;
  }
}
