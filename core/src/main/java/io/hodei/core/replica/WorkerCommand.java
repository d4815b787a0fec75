package io.hodei.core.replica;

import io.hodei.core.worker.WorkerId;
import java.time.Instant;

/**
 * A command for a worker whose stream is on another replica, left in the store for that replica.
 *
 * @param replicaId the replica that holds the worker's stream
 * @param reason as the caller gave it, for the audit and the log
 */
public record WorkerCommand(String replicaId, WorkerId worker, Kind kind, String reason, Instant at) {
  /** What the replica holding the worker is asked to do. */
  public enum Kind {
    /** Take no new jobs, finish the running ones, then leave. */
    DRAIN,
    /** Leave now: its jobs are settled as lost (and retried if their policy allows). */
    DEREGISTER
  }
}
