package io.hodei.core.error;

/**
 * The request is well formed but the current state forbids it: a final job cannot be cancelled, a
 * stale execution cannot report. Retrying is pointless until the state changes.
 */
public final class IllegalTransitionException extends HodeiException {
  public IllegalTransitionException(String message) {
    super(message);
  }
}
