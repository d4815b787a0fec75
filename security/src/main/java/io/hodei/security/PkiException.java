package io.hodei.security;

/** A problem with certificate files, told in one line that names the file and what to do. */
public final class PkiException extends RuntimeException {
  public PkiException(String message) {
    super(message);
  }

  public PkiException(String message, Throwable cause) {
    super(message, cause);
  }
}
