package io.hodei.core.error;

/** A dependency (store, provider) cannot serve now; the same call may succeed later. */
public final class UnavailableException extends HodeiException {
  public UnavailableException(String message, Throwable cause) {
    super(message, cause);
  }

  public UnavailableException(String message) {
    super(message);
  }
}
