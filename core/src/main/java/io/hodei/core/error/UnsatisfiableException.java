package io.hodei.core.error;

/**
 * A request that is well formed but asks for more than this installation could ever give (no
 * pool's workers are that large). Names the field, what was asked and the most on offer.
 */
public final class UnsatisfiableException extends HodeiException {
  private final String field;

  public UnsatisfiableException(String field, String problem) {
    super(field + ": " + problem);
    this.field = field;
  }

  /** The field's path as the API spells it, for example {@code definition.resources.cpu_cores}. */
  public String field() {
    return field;
  }
}
