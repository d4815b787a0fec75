package io.hodei.core.worker;

import java.util.Optional;

/** Durable record of registered workers, so a worker can resume its session after a restart. */
public interface WorkerStore {

  /** Inserts or replaces the registration of {@code registration.info().id()}. */
  void save(WorkerRegistration registration);

  Optional<WorkerRegistration> find(WorkerId id);

  /** Marks the worker gone; its session can no longer be resumed. */
  void deactivate(WorkerId id);
}
