package io.hodei.core.job;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A filter over jobs, newest first. Every condition given must hold.
 *
 * @param pageToken opaque token from a previous {@link Page}; empty for the first page
 * @param owner only jobs queued by this principal; empty for everyone's
 */
public record JobQuery(
    Set<JobState> states,
    Map<String, String> labels,
    Optional<String> namePrefix,
    Optional<Instant> createdAfter,
    Optional<Instant> createdBefore,
    int pageSize,
    Optional<String> pageToken,
    Optional<String> owner) {

  public static final int DEFAULT_PAGE_SIZE = 50;
  public static final int MAX_PAGE_SIZE = 500;

  /** Everyone's jobs. */
  public JobQuery(
      Set<JobState> states,
      Map<String, String> labels,
      Optional<String> namePrefix,
      Optional<Instant> createdAfter,
      Optional<Instant> createdBefore,
      int pageSize,
      Optional<String> pageToken) {
    this(states, labels, namePrefix, createdAfter, createdBefore, pageSize, pageToken, Optional.empty());
  }

  /** This query narrowed to the jobs of {@code name}. */
  public JobQuery ownedBy(String name) {
    return new JobQuery(
        states, labels, namePrefix, createdAfter, createdBefore, pageSize, pageToken, Optional.of(name));
  }

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
