package io.hodei.core.job;

import java.time.Instant;

/** Who asked to cancel a job, why, and when. */
public record CancelRequest(String reason, String requestedBy, Instant at) {}
