package io.hodei.store;

import io.hodei.core.auth.ApiToken;
import io.hodei.core.auth.Role;
import io.hodei.core.auth.TokenStore;
import io.hodei.core.error.ConflictException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** {@link TokenStore} on the {@code api_tokens} table. Thread-safe; millisecond timestamps. */
public final class JdbcTokenStore implements TokenStore {
  private static final String COLUMNS =
      "name, token_hash, role, created_at, expires_at, revoked_at";

  private final Jdbc jdbc;

  public JdbcTokenStore(Database database) {
    this.jdbc = new Jdbc(database);
  }

  @Override
  public void save(ApiToken token) {
    jdbc.write(
        "save API token " + token.name(),
        c -> {
          try (PreparedStatement check =
              c.prepareStatement("SELECT 1 FROM api_tokens WHERE name = ?")) {
            check.setString(1, token.name());
            try (ResultSet rs = check.executeQuery()) {
              if (rs.next()) {
                throw new ConflictException("an API token named " + token.name() + " exists");
              }
            }
          }
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO api_tokens (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, token.name());
            ps.setString(2, token.tokenHash());
            ps.setString(3, token.role().name());
            ps.setLong(4, Jdbc.millis(token.createdAt()));
            Jdbc.setInstant(ps, 5, token.expiresAt());
            Jdbc.setInstant(ps, 6, token.revokedAt());
            return ps.executeUpdate();
          }
        });
  }

  @Override
  public Optional<ApiToken> findByHash(String tokenHash) {
    return jdbc.read(
        "find an API token",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("SELECT " + COLUMNS + " FROM api_tokens WHERE token_hash = ?")) {
            ps.setString(1, tokenHash);
            try (ResultSet rs = ps.executeQuery()) {
              return rs.next() ? Optional.of(token(rs)) : Optional.empty();
            }
          }
        });
  }

  @Override
  public List<ApiToken> list() {
    return jdbc.read(
        "list API tokens",
        c -> {
          try (PreparedStatement ps =
                  c.prepareStatement(
                      "SELECT " + COLUMNS + " FROM api_tokens ORDER BY created_at, name");
              ResultSet rs = ps.executeQuery()) {
            List<ApiToken> tokens = new ArrayList<>();
            while (rs.next()) {
              tokens.add(token(rs));
            }
            return tokens;
          }
        });
  }

  @Override
  public boolean revoke(String name, Instant at) {
    return jdbc.write(
        "revoke API token " + name,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE name = ?")) {
            ps.setLong(1, Jdbc.millis(at));
            ps.setString(2, name);
            return ps.executeUpdate() > 0;
          }
        });
  }

  private static ApiToken token(ResultSet rs) throws SQLException {
    return new ApiToken(
        rs.getString("name"),
        rs.getString("token_hash"),
        Role.valueOf(rs.getString("role")),
        Jdbc.instant(rs, "created_at"),
        Jdbc.optionalInstant(rs, "expires_at"),
        Jdbc.optionalInstant(rs, "revoked_at"));
  }
}
