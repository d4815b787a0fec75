package io.hodei.core.scheduling;

import java.util.NavigableSet;

/**
 * The free workers of one {@link WorkerClass}: their ids, in ascending order, never empty.
 *
 * <p>{@code members} may be a live view of the caller's index (no copy per placement, which is
 * the point): it must not change while {@link Scheduler} decides, so the caller holds whatever
 * guards it for the duration of the call.
 */
public record CandidateClass(WorkerClass traits, NavigableSet<String> members) {
  public CandidateClass {
    if (members.isEmpty()) {
      throw new IllegalArgumentException("a candidate class has at least one worker");
    }
  }
}
