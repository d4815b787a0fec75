package io.hodei.core.error;

/** The caller proved who it is, but that identity may not do what it asked. */
public final class PermissionDeniedException extends HodeiException {
  public PermissionDeniedException(String message) {
    super(message);
  }
}
