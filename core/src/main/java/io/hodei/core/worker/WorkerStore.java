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

  /**
   * Keeps {@code sample} (the API's encoded WorkerMetrics) as the newest of {@code id}, received by
   * replica {@code replicaId} at {@code at}, for the other replicas' followers.
   */
  void saveSample(WorkerId id, String replicaId, java.time.Instant at, byte[] sample);

  /** The newest sample of each worker received at or after {@code since} by a replica other than {@code replicaId}. */
  java.util.List<byte[]> samplesSince(java.time.Instant since, String replicaId);
}
