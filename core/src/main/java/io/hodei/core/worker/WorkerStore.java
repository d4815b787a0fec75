package io.hodei.core.worker;

import java.util.Optional;

/** Durable record of registered workers, so a worker can resume its session after a restart. */
public interface WorkerStore {

  /** Inserts or replaces the registration of {@code registration.info().id()}. */
  void save(WorkerRegistration registration);

  Optional<WorkerRegistration> find(WorkerId id);

  /** Marks the worker gone; its session can no longer be resumed. */
  void deactivate(WorkerId id);

  /** Records that {@code id}'s stream is attached to replica {@code replicaId} now. Unknown workers are ignored. */
  void attach(WorkerId id, String replicaId);

  /** The replica each active worker's stream was last attached to (empty: never attached). */
  java.util.Map<WorkerId, String> attachments();
}
