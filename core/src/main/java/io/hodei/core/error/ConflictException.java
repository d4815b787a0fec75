package io.hodei.core.error;

/** A concurrent change won a race; re-read and try again. */
public final class ConflictException extends HodeiException {
  public ConflictException(String message) {
    super(message);
  }
}
