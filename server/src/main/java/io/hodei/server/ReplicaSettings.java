package io.hodei.server;

import java.time.Duration;

/**
 * Who this control plane is among the replicas that share its database.
 *
 * @param id unique among live replicas; a second process given a live replica's id is refused
 * @param lease how long a replica's row, and the leader's lease, outlive its last renewal (renewed
 *     every third of it): a replica that dies is noticed, and its leadership taken over, within it
 */
public record ReplicaSettings(String id, Duration lease) {
  public static final Duration DEFAULT_LEASE = Duration.ofSeconds(10);

  /** The default: one replica named after this host. */
  public static final ReplicaSettings SINGLE = new ReplicaSettings(defaultId(), DEFAULT_LEASE);

  public ReplicaSettings {
    if (lease.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException(
          "replica lease must be at least 1s, got " + io.hodei.core.DurationText.format(lease));
    }
    // Checked as the store keeps it.
    new io.hodei.core.replica.Replica(id, "-", "-", "-", 0, java.time.Instant.EPOCH, java.time.Instant.EPOCH);
  }

  /** This host's name, as a replica id: printable ASCII, at most 63 characters. */
  static String defaultId() {
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      host = "replica";
    }
    String id = host.replaceAll("[^\\x21-\\x7e]", "-");
    id = id.length() > 63 ? id.substring(0, 63) : id;
    return id.isEmpty() ? "replica" : id;
  }
}
