package io.hodei.core.error;

/** The caller is known but may not do this: its role, or the thing belongs to someone else. */
public final class PermissionDeniedException extends HodeiException {
  public PermissionDeniedException(String message) {
    super(message);
  }
}
