package io.hodei.core.worker;

import java.time.Instant;

/**
 * A registered worker as the store keeps it. {@code sessionHash} is the SHA-256 of the session id
 * handed to the worker; the session id itself is never stored.
 */
public record WorkerRegistration(
    WorkerInfo info, String provider, String sessionHash, Instant registeredAt, boolean active) {}
