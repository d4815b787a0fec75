package io.hodei.store;

import io.hodei.core.worker.OtpStore;
import io.hodei.core.worker.OtpToken;
import io.hodei.core.worker.WorkerId;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.Optional;

/**
 * {@link OtpStore} on the {@code otp_tokens} table, keyed by the token's hash.
 *
 * <p>Thread-safe. {@link #consume} is one conditional update ({@code ... WHERE worker_id = ? AND
 * consumed_at IS NULL AND expires_at > ?}): it marks the token only when every condition holds,
 * and of any number of concurrent callers exactly one sees a row changed. A failed check changes
 * nothing. Timestamps are kept to the millisecond.
 */
public final class JdbcOtpStore implements OtpStore {
  private final Jdbc jdbc;
  private final Dialect dialect;

  public JdbcOtpStore(Database database) {
    this.jdbc = new Jdbc(database);
    this.dialect = database.dialect();
  }

  /**
   * @throws IllegalStateException if a token with the same hash is stored already: tokens are
   *     random, so that is a bug
   */
  @Override
  public void save(OtpToken token) {
    jdbc.write("save a registration token", c -> insert(c, token, ""));
  }

  @Override
  public boolean saveWithinPoolLimit(OtpToken token, String replicaId, int ownCount, int limit, Instant now) {
    return jdbc.write(
        "save a registration token within the limit of pool " + token.pool(),
        c -> {
          dialect.lockPool(c, token.pool());
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT (SELECT count(*) FROM workers w WHERE w.active = 1 AND w.provider = ? AND w.replica_id <> ?"
                      + " AND w.replica_id IN (SELECT id FROM replicas WHERE expires_at > ?))"
                      + " + (SELECT count(*) FROM otp_tokens o WHERE o.pool = ? AND o.replica_id <> ?"
                      + " AND o.consumed_at IS NULL AND o.expires_at > ?)")) {
            ps.setString(1, token.pool());
            ps.setString(2, replicaId);
            ps.setLong(3, Jdbc.millis(now));
            ps.setString(4, token.pool());
            ps.setString(5, replicaId);
            ps.setLong(6, Jdbc.millis(now));
            try (ResultSet rs = ps.executeQuery()) {
              rs.next();
              if (ownCount + rs.getLong(1) >= limit) {
                return false;
              }
            }
          }
          insert(c, token, replicaId);
          return true;
        });
  }

  private static int insert(java.sql.Connection c, OtpToken token, String replicaId) throws java.sql.SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO otp_tokens (token_hash, worker_id, expires_at, consumed_at, pool, replica_id)"
                + " VALUES (?, ?, ?, ?, ?, ?)")) {
      ps.setString(1, token.tokenHash());
      ps.setString(2, token.workerId().value());
      ps.setLong(3, Jdbc.millis(token.expiresAt()));
      Jdbc.setInstant(ps, 4, token.consumedAt());
      ps.setString(5, token.pool());
      ps.setString(6, replicaId);
      return ps.executeUpdate();
    }
  }

  @Override
  public Optional<OtpToken> find(String tokenHash) {
    return jdbc.read(
        "find a registration token",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT worker_id, expires_at, consumed_at, pool FROM otp_tokens"
                      + " WHERE token_hash = ?")) {
            ps.setString(1, tokenHash);
            try (ResultSet rs = ps.executeQuery()) {
              if (!rs.next()) {
                return Optional.empty();
              }
              return Optional.of(
                  new OtpToken(
                      tokenHash,
                      new WorkerId(rs.getString("worker_id")),
                      Jdbc.instant(rs, "expires_at"),
                      Jdbc.optionalInstant(rs, "consumed_at"),
                      rs.getString("pool")));
            }
          }
        });
  }

  @Override
  public boolean consume(String tokenHash, WorkerId worker, Instant now) {
    return jdbc.write(
        "consume a registration token",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "UPDATE otp_tokens SET consumed_at = ?"
                      + " WHERE token_hash = ? AND worker_id = ? AND consumed_at IS NULL"
                      + " AND expires_at > ?")) {
            ps.setLong(1, Jdbc.millis(now));
            ps.setString(2, tokenHash);
            ps.setString(3, worker.value());
            ps.setLong(4, Jdbc.millis(now));
            return ps.executeUpdate() > 0;
          }
        });
  }

  @Override
  public int revoke(WorkerId worker) {
    return jdbc.write(
        "revoke the registration tokens of a worker",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("DELETE FROM otp_tokens WHERE worker_id = ?")) {
            ps.setString(1, worker.value());
            return ps.executeUpdate();
          }
        });
  }

  @Override
  public boolean hasOutstanding(WorkerId worker, Instant now) {
    return jdbc.read(
        "look for an outstanding registration token",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT 1 FROM otp_tokens WHERE worker_id = ? AND consumed_at IS NULL"
                      + " AND expires_at > ?")) {
            ps.setString(1, worker.value());
            ps.setLong(2, Jdbc.millis(now));
            try (ResultSet rs = ps.executeQuery()) {
              return rs.next();
            }
          }
        });
  }
}
