package io.hodei.core.job;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A filter over jobs, newest first. Every condition given must hold.
 *
 * @param pageToken opaque token from a previous {@link Page}; empty for the first page
 */
public record JobQuery(
    Set<JobState> states,
    Map<String, String> labels,
    Optional<String> namePrefix,
    Optional<Instant> createdAfter,
    Optional<Instant> createdBefore,
    int pageSize,
    Optional<String> pageToken) {

  public static final int DEFAULT_PAGE_SIZE = 50;
  public static final int MAX_PAGE_SIZE = 500;

  public JobQuery {
    states = Set.copyOf(states);
    labels = Map.copyOf(labels);
    pageSize = pageSize <= 0 ? DEFAULT_PAGE_SIZE : Math.min(pageSize, MAX_PAGE_SIZE);
  }

  public static JobQuery all() {
    return new JobQuery(
        Set.of(),
        Map.of(),
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        DEFAULT_PAGE_SIZE,
        Optional.empty());
  }
}
