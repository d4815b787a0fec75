package io.hodei.core.error;

/**
 * Root of the small, closed set of failures the domain reports. Each subtype maps to exactly one
 * gRPC status in the server's error mapping; nothing else in the code base decides status codes.
 */
public abstract sealed class HodeiException extends RuntimeException
    permits NotFoundException,
        InvalidSpecException,
        IllegalTransitionException,
        ConflictException,
        UnavailableException,
        AuthenticationException,
        PermissionDeniedException,
        RateLimitedException,
        UnsatisfiableException {

  protected HodeiException(String message) {
    super(message);
  }

  protected HodeiException(String message, Throwable cause) {
    super(message, cause);
  }
}
