package io.hodei.core.provider;

import io.hodei.core.worker.WorkerId;
import java.util.Optional;

/**
 * Port: issues the transport credentials a newly provisioned worker starts with. They travel in
 * the worker's {@link WorkerBootstrap} beside its one-time token, never in its environment; an
 * implementation keeps its signing key to itself and hands out only what the one worker needs.
 *
 * <p>Implementations are called from the provisioning loop and from request threads at once, so
 * they must be thread-safe.
 */
public interface WorkerCredentials {
  /** No credentials: the worker talks plaintext. */
  WorkerCredentials NONE = id -> Optional.empty();

  /** Fresh TLS material for {@code worker}; empty for none. */
  Optional<WorkerBootstrap.Tls> issueFor(WorkerId worker);
}
