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
 * <p>Thread-safe. {@link #consume} is one transaction whose conditional update ({@code ... WHERE
 * consumed_at IS NULL}) lets exactly one of any number of concurrent callers mark the token, so at
 * most one of them is told the token was unconsumed. Timestamps are kept to the millisecond.
 */
public final class JdbcOtpStore implements OtpStore {
  private final Jdbc jdbc;

  public JdbcOtpStore(Database database) {
    this.jdbc = new Jdbc(database);
  }

  /**
   * @throws IllegalStateException if a token with the same hash is stored already: tokens are
   *     random, so that is a bug
   */
  @Override
  public void save(OtpToken token) {
    jdbc.write(
        "save a registration token",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO otp_tokens (token_hash, worker_id, expires_at, consumed_at)"
                      + " VALUES (?, ?, ?, ?)")) {
            ps.setString(1, token.tokenHash());
            ps.setString(2, token.workerId().value());
            ps.setLong(3, Jdbc.millis(token.expiresAt()));
            Jdbc.setInstant(ps, 4, token.consumedAt());
            return ps.executeUpdate();
          }
        });
  }

  @Override
  public Optional<OtpToken> consume(String tokenHash, Instant now) {
    return jdbc.write(
        "consume a registration token",
        c -> {
          int consumedNow;
          try (PreparedStatement ps =
              c.prepareStatement(
                  "UPDATE otp_tokens SET consumed_at = ?"
                      + " WHERE token_hash = ? AND consumed_at IS NULL")) {
            ps.setLong(1, Jdbc.millis(now));
            ps.setString(2, tokenHash);
            consumedNow = ps.executeUpdate();
          }
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT worker_id, expires_at, consumed_at FROM otp_tokens"
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
                      // As it was before this call: unconsumed if this call consumed it.
                      consumedNow > 0
                          ? Optional.empty()
                          : Jdbc.optionalInstant(rs, "consumed_at")));
            }
          }
        });
  }
}
