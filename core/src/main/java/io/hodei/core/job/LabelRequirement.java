package io.hodei.core.job;

import java.util.List;

/** One term of a label selector, in the style of Kubernetes set-based selectors. */
public record LabelRequirement(String key, Operator operator, List<String> values) {
  public enum Operator {
    EQUALS,
    IN,
    NOT_IN,
    EXISTS,
    DOES_NOT_EXIST
  }

  public LabelRequirement {
    values = List.copyOf(values);
  }
}
