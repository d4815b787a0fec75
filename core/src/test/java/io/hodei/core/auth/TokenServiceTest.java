package io.hodei.core.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.core.error.AuthenticationException;
import io.hodei.core.error.InvalidSpecException;
import io.hodei.core.worker.Secrets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TokenServiceTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  /** An in-memory store: enough for the service's own logic; the JDBC one has its own tests. */
  static final class ListStore implements TokenStore {
    final List<ApiToken> tokens = new ArrayList<>();

    @Override
    public void save(ApiToken token) {
      tokens.add(token);
    }

    @Override
    public Optional<ApiToken> findByHash(String tokenHash) {
      return tokens.stream().filter(t -> t.tokenHash().equals(tokenHash)).findFirst();
    }

    @Override
    public List<ApiToken> list() {
      return List.copyOf(tokens);
    }

    @Override
    public boolean revoke(String name, Instant at) {
      for (int i = 0; i < tokens.size(); i++) {
        var t = tokens.get(i);
        if (t.name().equals(name)) {
          tokens.set(
              i,
              new ApiToken(
                  t.name(),
                  t.tokenHash(),
                  t.role(),
                  t.createdAt(),
                  t.expiresAt(),
                  Optional.of(at)));
          return true;
        }
      }
      return false;
    }
  }

  final ListStore store = new ListStore();

  TokenService at(Instant now) {
    return new TokenService(store, Clock.fixed(now, ZoneOffset.UTC));
  }

  @Test
  void anIssuedTokenIsStoredOnlyAsItsHashAndAuthenticatesItsPrincipal() {
    var issued = at(T0).issue("ci", Role.USER, Optional.empty());

    assertThat(issued.token()).startsWith("hodei_").hasSize("hodei_".length() + 43);
    assertThat(store.tokens)
        .singleElement()
        .satisfies(t -> assertThat(t.tokenHash()).isEqualTo(Secrets.sha256Hex(issued.token())));
    assertThat(store.tokens.toString()).doesNotContain(issued.token());
    assertThat(at(T0).authenticate(issued.token())).isEqualTo(new Principal("ci", Role.USER));
  }

  @Test
  void anExpiredOrRevokedTokenDoesNotAuthenticate() {
    var expiring = at(T0).issue("short", Role.ADMIN, Optional.of(Duration.ofDays(90)));
    var revoked = at(T0).issue("gone", Role.USER, Optional.empty());
    at(T0).revoke("gone");

    assertThat(at(T0.plus(Duration.ofDays(89))).authenticate(expiring.token()).name())
        .isEqualTo("short");
    assertThatThrownBy(() -> at(T0.plus(Duration.ofDays(90))).authenticate(expiring.token()))
        .isInstanceOf(AuthenticationException.class)
        .hasMessageContaining("expired");
    assertThatThrownBy(() -> at(T0).authenticate(revoked.token()))
        .isInstanceOf(AuthenticationException.class)
        .hasMessageContaining("revoked");
    assertThatThrownBy(() -> at(T0).authenticate("hodei_other"))
        .isInstanceOf(AuthenticationException.class);
    assertThatThrownBy(() -> at(T0).authenticate("bearer"))
        .isInstanceOf(AuthenticationException.class);
  }

  @Test
  void aTokenNeedsANameARoleAndAPositiveLifetime() {
    assertThatThrownBy(() -> at(T0).issue("has space", Role.USER, Optional.empty()))
        .isInstanceOf(InvalidSpecException.class);
    assertThatThrownBy(() -> at(T0).issue("x", Role.NONE, Optional.empty()))
        .isInstanceOf(InvalidSpecException.class);
    assertThatThrownBy(() -> at(T0).issue("anonymous", Role.USER, Optional.empty()))
        .isInstanceOf(InvalidSpecException.class);
    assertThatThrownBy(() -> at(T0).issue("x", Role.USER, Optional.of(Duration.ZERO)))
        .isInstanceOf(InvalidSpecException.class);
  }

  @Test
  void aUserActsOnlyOnItsOwnJobsAndAnAdminOnAll() {
    assertThat(new Principal("alice", Role.USER).mayActOnJobOf("alice")).isTrue();
    assertThat(new Principal("alice", Role.USER).mayActOnJobOf("bob")).isFalse();
    assertThat(new Principal("alice", Role.USER).mayActOnJobOf("")).isFalse();
    assertThat(new Principal("root", Role.ADMIN).mayActOnJobOf("")).isTrue();
    assertThat(new Principal("w-1", Role.WORKER).mayActOnJobOf("w-1")).isFalse();
  }
}
