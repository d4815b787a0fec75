package io.hodei.core.error;

/** The caller could not prove who it is: a bad, expired, reused or foreign credential. */
public final class AuthenticationException extends HodeiException {
  public AuthenticationException(String message) {
    super(message);
  }
}
