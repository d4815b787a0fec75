package io.hodei.core.provider;

import io.hodei.core.worker.WorkerId;
import java.util.List;
import java.util.function.Predicate;

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

  /**
   * Stops the worker at once, with everything it started, and returns only once they are gone:
   * the control plane presumes the worker lost (silent, or its process vanished) and is about to
   * hand its jobs to another, so none of them may still be running ("fencing"). No grace period:
   * a frozen worker would not use it. The default is {@link #destroy}.
   */
  default void fence(WorkerHandle handle) {
    destroy(handle);
  }

  /** Whether the worker's process, container or pod still exists. */
  boolean isAlive(WorkerHandle handle);

  /**
   * The handle of a worker this provider started in an earlier life of the control plane, found
   * from its id alone (a worker that registered after a crash, before its handle was recorded);
   * empty if the provider cannot find it. Never a process, container or pod it did not create.
   */
  default java.util.Optional<WorkerHandle> find(io.hodei.core.worker.WorkerId worker) {
    return java.util.Optional.empty();
  }

  /** Checks the infrastructure now. Never throws: failures are {@link ProviderHealth.Unhealthy}. */
  ProviderHealth health();

  /**
   * Why a worker this provider created has not started yet, in the infrastructure's own words
   * (for a pod: "Pending: Unschedulable: 0/3 nodes are available: 3 Insufficient cpu"); empty when
   * there is nothing to say (it is starting normally, runs, or is unknown). Shown as the waiting
   * reason of the jobs that wait for it and in {@code hodei workers list}. Must answer from what the
   * provider already knows, without a remote call: it is asked on the scheduler's path.
   */
  default java.util.Optional<String> waitingReason(WorkerHandle handle) {
    return java.util.Optional.empty();
  }

  /**
   * Removes the workers this provider created earlier that the control plane does not know, for
   * example after it crashed, or after a destroy failed while the infrastructure was unreachable.
   * Must never touch anything this provider did not create. Providers whose workers cannot
   * outlive the control plane unnoticed keep the default, which removes nothing.
   *
   * @param isKnown whether the control plane tracks the worker, or expects it to come back
   * @return the workers removed
   * @throws io.hodei.core.error.UnavailableException if the infrastructure cannot be asked
   */
  /**
   * What a worker that ended said last (the last line of its own log), to tell an admin why it
   * failed at start; empty when the provider keeps no such output. Never a credential: workers
   * print none.
   */
  default java.util.Optional<String> lastWords(WorkerHandle handle) {
    return java.util.Optional.empty();
  }

  default List<WorkerId> removeOrphans(Predicate<WorkerId> isKnown) {
    return List.of();
  }
}
