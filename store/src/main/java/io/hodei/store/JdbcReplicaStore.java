package io.hodei.store;

import io.hodei.core.replica.Replica;
import io.hodei.core.replica.ReplicaStore;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * {@link ReplicaStore} on the {@code replicas} and {@code leases} tables.
 *
 * <p>Taking a row is an {@code INSERT ... ON CONFLICT DO NOTHING}, or, over a row whose holder is
 * gone, an update conditional on the incarnation and expiry just read: of concurrent takers
 * exactly one sees a row changed, and the others read the winner back. Renewing and leases are
 * single conditional updates. Portable between SQLite and PostgreSQL (no {@code FOR UPDATE}).
 */
public final class JdbcReplicaStore implements ReplicaStore {
  private static final String COLUMNS = "id, incarnation, address, host, pid, started_at, expires_at";

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(JdbcReplicaStore.class);
  /** The PostgreSQL channel replicas are nudged on; the payload is the replica's id. */
  static final String CHANNEL = "hodei_replicas";

  private final Jdbc jdbc;
  private final Database database;
  /** The connection that LISTENs, held while it works; the nudged replica's thread only. */
  private Connection listening;

  public JdbcReplicaStore(Database database) {
    this.jdbc = new Jdbc(database);
    this.database = database;
  }

  @Override
  public void nudge(String replicaId) {
    if (database.dialect() != Dialect.POSTGRESQL) {
      return;
    }
    jdbc.read(
        "nudge replica " + replicaId,
        c -> {
          try (PreparedStatement ps = c.prepareStatement("SELECT pg_notify(?, ?)")) {
            ps.setString(1, CHANNEL);
            ps.setString(2, replicaId);
            ps.executeQuery().close();
            return null;
          }
        });
  }

  @Override
  public synchronized boolean awaitNudge(String replicaId, java.time.Duration max) throws InterruptedException {
    if (database.dialect() != Dialect.POSTGRESQL) {
      Thread.sleep(max);
      return false;
    }
    try {
      if (listening == null) {
        listening = database.dataSource().getConnection();
        try (var st = listening.createStatement()) {
          st.execute("LISTEN " + CHANNEL);
        }
      }
      var notifications =
          listening.unwrap(org.postgresql.PGConnection.class).getNotifications((int) Math.max(1, max.toMillis()));
      if (notifications != null) {
        for (var n : notifications) {
          if (replicaId.equals(n.getParameter())) {
            return true;
          }
        }
      }
      return false;
    } catch (SQLException e) {
      log.debug("replica {}: cannot listen for nudges ({}); polling only until it can", replicaId, e.getMessage());
      if (listening != null) {
        try {
          listening.close();
        } catch (SQLException ignored) {
          // a broken connection: it goes back to the pool as such
        }
        listening = null;
      }
      Thread.sleep(max);
      return false;
    }
  }

  @Override
  public Optional<Replica> join(Replica replica, Instant now, Predicate<Replica> stale) {
    return jdbc.write(
        "register replica " + replica.id(),
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO replicas (" + COLUMNS + ", renewed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                      + " ON CONFLICT (id) DO NOTHING")) {
            bind(ps, replica);
            ps.setLong(8, Jdbc.millis(now));
            if (ps.executeUpdate() == 1) {
              return Optional.<Replica>empty();
            }
          }
          Replica holder = find(c, replica.id()).orElseThrow(() -> new IllegalStateException(
              "replica " + replica.id() + ": its row was neither inserted nor found, which indicates a bug"));
          if (holder.expiresAt().isAfter(now) && !stale.test(holder)) {
            return Optional.of(holder);
          }
          try (PreparedStatement ps =
              c.prepareStatement(
                  "UPDATE replicas SET incarnation = ?, address = ?, host = ?, pid = ?, started_at = ?,"
                      + " expires_at = ?, renewed_at = ? WHERE id = ? AND incarnation = ? AND expires_at = ?")) {
            ps.setString(1, replica.incarnation());
            ps.setString(2, replica.address());
            ps.setString(3, replica.host());
            ps.setLong(4, replica.pid());
            ps.setLong(5, Jdbc.millis(replica.startedAt()));
            ps.setLong(6, Jdbc.millis(replica.expiresAt()));
            ps.setLong(7, Jdbc.millis(now));
            ps.setString(8, replica.id());
            ps.setString(9, holder.incarnation());
            ps.setLong(10, Jdbc.millis(holder.expiresAt()));
            if (ps.executeUpdate() == 1) {
              return Optional.<Replica>empty();
            }
          }
          // Another taker won the race for the stale row: it is the holder now.
          return find(c, replica.id());
        });
  }

  @Override
  public boolean renew(String id, String incarnation, Instant now, Instant until) {
    return jdbc.write(
        "renew the lease of replica " + id,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "UPDATE replicas SET expires_at = ?, renewed_at = ? WHERE id = ? AND incarnation = ?")) {
            ps.setLong(1, Jdbc.millis(until));
            ps.setLong(2, Jdbc.millis(now));
            ps.setString(3, id);
            ps.setString(4, incarnation);
            return ps.executeUpdate() == 1;
          }
        });
  }

  @Override
  public void leave(String id, String incarnation, Instant now) {
    jdbc.write(
        "end the lease of replica " + id,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("UPDATE replicas SET expires_at = ? WHERE id = ? AND incarnation = ?")) {
            ps.setLong(1, Jdbc.millis(now));
            ps.setString(2, id);
            ps.setString(3, incarnation);
            return ps.executeUpdate();
          }
        });
  }

  @Override
  public List<Replica> live(Instant now) {
    return jdbc.read(
        "list live replicas",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("SELECT " + COLUMNS + " FROM replicas WHERE expires_at > ? ORDER BY id")) {
            ps.setLong(1, Jdbc.millis(now));
            List<Replica> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                out.add(replica(rs));
              }
            }
            return List.copyOf(out);
          }
        });
  }

  @Override
  public boolean holdLease(String name, String holder, Instant now, Instant until) {
    return jdbc.write(
        "hold the " + name + " lease",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "UPDATE leases SET holder = ?, expires_at = ? WHERE name = ? AND (holder = ? OR expires_at <= ?)")) {
            ps.setString(1, holder);
            ps.setLong(2, Jdbc.millis(until));
            ps.setString(3, name);
            ps.setString(4, holder);
            ps.setLong(5, Jdbc.millis(now));
            if (ps.executeUpdate() == 1) {
              return true;
            }
          }
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING")) {
            ps.setString(1, name);
            ps.setString(2, holder);
            ps.setLong(3, Jdbc.millis(until));
            return ps.executeUpdate() == 1;
          }
        });
  }

  @Override
  public void releaseLease(String name, String holder) {
    jdbc.write(
        "give up the " + name + " lease",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?")) {
            ps.setString(1, name);
            ps.setString(2, holder);
            return ps.executeUpdate();
          }
        });
  }

  @Override
  public Optional<String> leaseHolder(String name, Instant now) {
    return jdbc.read(
        "read the " + name + " lease",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("SELECT holder FROM leases WHERE name = ? AND expires_at > ?")) {
            ps.setString(1, name);
            ps.setLong(2, Jdbc.millis(now));
            try (ResultSet rs = ps.executeQuery()) {
              return rs.next() ? Optional.of(rs.getString(1)) : Optional.<String>empty();
            }
          }
        });
  }

  @Override
  public void send(io.hodei.core.replica.WorkerCommand command) {
    jdbc.write(
        "leave a command for replica " + command.replicaId(),
        c -> {
          try (PreparedStatement ps = c.prepareStatement(
              "INSERT INTO replica_commands (id, replica_id, worker_id, kind, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, java.util.UUID.randomUUID().toString());
            ps.setString(2, command.replicaId());
            ps.setString(3, command.worker().value());
            ps.setString(4, command.kind().name());
            ps.setString(5, command.reason());
            ps.setLong(6, Jdbc.millis(command.at()));
            ps.executeUpdate();
          }
          if (database.dialect() == Dialect.POSTGRESQL) {
            // Delivered when this transaction commits, not before.
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_notify(?, ?)")) {
              ps.setString(1, CHANNEL);
              ps.setString(2, command.replicaId());
              ps.executeQuery().close();
            }
          }
          return 1;
        });
  }

  @Override
  public List<io.hodei.core.replica.WorkerCommand> take(String replicaId) {
    return jdbc.write(
        "take the commands left for replica " + replicaId,
        c -> {
          List<io.hodei.core.replica.WorkerCommand> out = new ArrayList<>();
          List<String> ids = new ArrayList<>();
          try (PreparedStatement ps = c.prepareStatement(
              "SELECT id, worker_id, kind, reason, created_at FROM replica_commands WHERE replica_id = ? ORDER BY created_at, id")) {
            ps.setString(1, replicaId);
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                ids.add(rs.getString("id"));
                out.add(new io.hodei.core.replica.WorkerCommand(
                    replicaId,
                    new io.hodei.core.worker.WorkerId(rs.getString("worker_id")),
                    io.hodei.core.replica.WorkerCommand.Kind.valueOf(rs.getString("kind")),
                    rs.getString("reason"),
                    Jdbc.instant(rs, "created_at")));
              }
            }
          }
          // Only the rows read are removed: one left meanwhile is taken next time.
          try (PreparedStatement ps = c.prepareStatement("DELETE FROM replica_commands WHERE id = ?")) {
            for (String id : ids) {
              ps.setString(1, id);
              ps.addBatch();
            }
            if (!ids.isEmpty()) {
              ps.executeBatch();
            }
          }
          return List.copyOf(out);
        });
  }

  private static Optional<Replica> find(Connection c, String id) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM replicas WHERE id = ?")) {
      ps.setString(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(replica(rs)) : Optional.empty();
      }
    }
  }

  private static void bind(PreparedStatement ps, Replica r) throws SQLException {
    ps.setString(1, r.id());
    ps.setString(2, r.incarnation());
    ps.setString(3, r.address());
    ps.setString(4, r.host());
    ps.setLong(5, r.pid());
    ps.setLong(6, Jdbc.millis(r.startedAt()));
    ps.setLong(7, Jdbc.millis(r.expiresAt()));
  }

  private static Replica replica(ResultSet rs) throws SQLException {
    return new Replica(
        rs.getString("id"),
        rs.getString("incarnation"),
        rs.getString("address"),
        rs.getString("host"),
        rs.getLong("pid"),
        Jdbc.instant(rs, "started_at"),
        Jdbc.instant(rs, "expires_at"));
  }
}
