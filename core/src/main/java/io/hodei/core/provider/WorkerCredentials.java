package io.hodei.core.provider;

import io.hodei.core.worker.WorkerId;
import java.util.Map;

/**
 * Port: issues the transport credentials a newly provisioned worker starts with. The result is
 * environment for the worker's launch, beside its one-time token; an implementation keeps its
 * signing key to itself and hands out only what the one worker needs.
 *
 * <p>Implementations are called from the provisioning loop and from request threads at once, so
 * they must be thread-safe.
 */
public interface WorkerCredentials {
  /** No credentials: the worker talks plaintext. */
  WorkerCredentials NONE = id -> Map.of();

  /** Environment variables carrying fresh credentials for {@code worker}; empty for none. */
  Map<String, String> issueFor(WorkerId worker);
}
