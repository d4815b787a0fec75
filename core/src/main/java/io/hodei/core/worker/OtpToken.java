package io.hodei.core.worker;

import java.time.Instant;
import java.util.Optional;

/** A one-time registration token as stored: only its hash, never the token. */
public record OtpToken(
    String tokenHash, WorkerId workerId, Instant expiresAt, Optional<Instant> consumedAt) {}
