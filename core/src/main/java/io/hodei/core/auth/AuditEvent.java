package io.hodei.core.auth;

import java.time.Instant;

/**
 * One security event. Holds names, ids, addresses and words, never a secret or a token.
 *
 * @param actor the principal's name, or {@code anonymous}
 * @param target what the event is about: a job id, a worker id, a token's name, an RPC
 * @param remote the caller's address, if known; empty otherwise
 */
public record AuditEvent(
    Instant at, Kind kind, String actor, String target, String detail, String remote) {

  /** What happened. */
  public enum Kind {
    WORKER_REGISTERED,
    REGISTRATION_FAILED,
    REGISTRATION_THROTTLED,
    AUTHENTICATION_FAILED,
    PERMISSION_DENIED,
    JOB_CANCELLED,
    WORKER_DRAINED,
    WORKER_DEREGISTERED,
    TOKEN_CREATED,
    TOKEN_REVOKED;
  }
}
