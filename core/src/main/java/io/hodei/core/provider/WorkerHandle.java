package io.hodei.core.provider;

import io.hodei.core.worker.WorkerId;

/** A worker a provider created; {@code reference} is the provider's own id (pid, container id). */
public record WorkerHandle(WorkerId workerId, String provider, String reference) {}
