package io.hodei.core.worker;

import java.time.Instant;

/**
 * A registered worker as the store keeps it. {@code sessionHash} is the SHA-256 of the session id
 * handed to the worker; the session id itself is never stored. {@code handleReference} is the
 * provider's own id for it (a pid, a container id), empty when unknown, so that a restarted
 * server can still stop it.
 */
public record WorkerRegistration(
    WorkerInfo info,
    String provider,
    String handleReference,
    String sessionHash,
    Instant registeredAt,
    boolean active) {}
