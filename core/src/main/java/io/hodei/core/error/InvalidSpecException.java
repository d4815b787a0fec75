package io.hodei.core.error;

/** Input that can never be accepted as it is. Names the offending field in API terms. */
public final class InvalidSpecException extends HodeiException {
  private final String field;

  public InvalidSpecException(String field, String problem) {
    super(field + ": " + problem);
    this.field = field;
  }

  /** The field's path as the API spells it, for example {@code definition.timeout}. */
  public String field() {
    return field;
  }
}
