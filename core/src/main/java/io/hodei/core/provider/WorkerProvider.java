package io.hodei.core.provider;

/**
 * Creates and destroys workers on some infrastructure (local processes, Docker, Kubernetes...).
 * Implementations must be safe to call from several threads; {@link #create} may block for as
 * long as the infrastructure needs and must not return before the worker has been asked to start.
 */
public interface WorkerProvider {

  /** Unique name of this provider instance, for example {@code local}. */
  String name();

  /** Kind of infrastructure: {@code local}, {@code docker}, {@code kubernetes}, ... */
  String type();

  /**
   * Starts a worker that will register with {@code launch.otp()}.
   *
   * @throws io.hodei.core.error.UnavailableException if the infrastructure refuses
   */
  WorkerHandle create(WorkerLaunch launch);

  /** Stops the worker and frees what it held. Idempotent. */
  void destroy(WorkerHandle handle);

  /** Whether the worker's process, container or pod still exists. */
  boolean isAlive(WorkerHandle handle);

  /** Checks the infrastructure now. Never throws: failures are {@link ProviderHealth.Unhealthy}. */
  ProviderHealth health();
}
