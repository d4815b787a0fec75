package io.hodei.core.job;

import java.util.List;
import java.util.Optional;

/** Where a job may run and how urgent it is. */
public record Constraints(
    List<LabelRequirement> labelSelector,
    List<Toleration> tolerations,
    Optional<String> preferredProvider,
    int priority) {

  public static final Constraints NONE = new Constraints(List.of(), List.of(), Optional.empty(), 0);

  public Constraints {
    labelSelector = List.copyOf(labelSelector);
    tolerations = List.copyOf(tolerations);
  }
}
