package io.hodei.core.auth;

import java.time.Instant;

/**
 * One security event. Holds names, ids, addresses and words, never a secret or a token.
 *
 * @param actor the principal's name, or {@code anonymous}
 * @param target what the event is about: a job id, a worker id, a token's name, an RPC
 * @param remote the caller's address, if known; empty otherwise
 * @param repeats how many identical events this row stands for (the same kind, actor, target,
 *     detail and caller host within a minute), 1 for one
 * @param lastAt the last of them
 */
public record AuditEvent(
    Instant at, Kind kind, String actor, String target, String detail, String remote, int repeats, Instant lastAt) {

  /** One event, once. */
  public AuditEvent(Instant at, Kind kind, String actor, String target, String detail, String remote) {
    this(at, kind, actor, target, detail, remote, 1, at);
  }

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
    TOKEN_REVOKED,
    /** A job's secret values were handed to a worker (names only in the detail). */
    SECRETS_DELIVERED,
    /** A worker stream that named a session it does not hold, or another worker's. */
    ATTACH_REFUSED,
    /** A worker renewed its certificate. */
    CERTIFICATE_RENEWED,
    /** A TLS client was refused during the handshake (no, an untrusted or an expired certificate). */
    TLS_HANDSHAKE_FAILED;
  }
}
