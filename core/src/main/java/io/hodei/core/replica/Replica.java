package io.hodei.core.replica;

import java.time.Instant;

/**
 * One control-plane replica as the store keeps it: its id (chosen by whoever runs it), the
 * incarnation that holds the id now (random per process), where clients and workers reach it,
 * the host and pid of its process, and its lease.
 */
public record Replica(
    String id,
    String incarnation,
    String address,
    String host,
    long pid,
    Instant startedAt,
    Instant expiresAt) {
  public Replica {
    if (id.isBlank() || id.length() > 63 || !id.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      throw new IllegalArgumentException(
          "replica id: 1 to 63 printable ASCII characters without spaces; got \"" + id + "\"");
    }
  }

  /** This replica with its lease ending at {@code until}. */
  public Replica until(Instant until) {
    return new Replica(id, incarnation, address, host, pid, startedAt, until);
  }
}
