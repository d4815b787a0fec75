package io.hodei.core.job;

import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Where a job may run (hard: selector, tolerations, capabilities) and where it would rather run
 * (soft: provider, zone, region), how urgent it is, and which placement strategy it asks for.
 */
public record Constraints(
    List<LabelRequirement> labelSelector,
    List<Toleration> tolerations,
    Optional<String> preferredProvider,
    int priority,
    Set<String> requiredCapabilities,
    Optional<String> preferredZone,
    Optional<String> preferredRegion,
    Optional<String> strategy) {

  public static final Constraints NONE =
      new Constraints(
          List.of(), List.of(), Optional.empty(), 0, Set.of(), Optional.empty(), Optional.empty(),
          Optional.empty());

  public Constraints {
    labelSelector = List.copyOf(labelSelector);
    tolerations = List.copyOf(tolerations);
    requiredCapabilities = Set.copyOf(requiredCapabilities);
  }

  public Constraints withPriority(int newPriority) {
    return new Constraints(
        labelSelector, tolerations, preferredProvider, newPriority, requiredCapabilities,
        preferredZone, preferredRegion, strategy);
  }
}
