package io.hodei.server.cluster;

/** Another live process holds this replica's id: two replicas must never act as one. */
public final class ReplicaIdInUseException extends RuntimeException {
  public ReplicaIdInUseException(String message) {
    super(message);
  }
}
