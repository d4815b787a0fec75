package io.hodei.core.auth;

import io.hodei.core.error.AuthenticationException;
import io.hodei.core.error.InvalidSpecException;
import io.hodei.core.worker.Secrets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Issues, checks and revokes API tokens. A token is {@code hodei_} followed by 256 random bits
 * (base64url); only its SHA-256 is stored, so a token is shown exactly once, when issued.
 * Thread-safe: the state is the store's.
 */
public final class TokenService {
  public static final String PREFIX = "hodei_";
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]{0,127}");

  private final TokenStore store;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();

  public TokenService(TokenStore store, Clock clock) {
    this.store = store;
    this.clock = clock;
  }

  /** A token as issued: the only time its value is known. */
  public record IssuedToken(String token, ApiToken stored) {}

  /**
   * @throws InvalidSpecException for a bad name, the NONE role or a non-positive lifetime
   * @throws io.hodei.core.error.ConflictException if the name is taken
   */
  public IssuedToken issue(String name, Role role, Optional<Duration> lifetime) {
    if (!NAME.matcher(name).matches()) {
      throw new InvalidSpecException("name", "must match " + NAME.pattern());
    }
    if (name.equals(Principal.ANONYMOUS.name())) {
      // Jobs queued by anonymous local callers are owned by that name; a token must not own them.
      throw new InvalidSpecException("name", "'" + name + "' is reserved");
    }
    if (role == Role.NONE) {
      throw new InvalidSpecException("role", "must be user, admin or worker");
    }
    if (lifetime.isPresent() && !lifetime.get().isPositive()) {
      throw new InvalidSpecException("expires", "must be positive");
    }
    byte[] bits = new byte[32];
    random.nextBytes(bits);
    String token = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bits);
    var now = clock.instant();
    var stored =
        new ApiToken(
            name, Secrets.sha256Hex(token), role, now, lifetime.map(now::plus), Optional.empty());
    store.save(stored);
    return new IssuedToken(token, stored);
  }

  /**
   * The principal {@code token} authenticates.
   *
   * @throws AuthenticationException if it is malformed, unknown, revoked or expired
   */
  public Principal authenticate(String token) {
    if (!token.startsWith(PREFIX)) {
      throw new AuthenticationException("not a hodei API token");
    }
    var stored =
        store
            .findByHash(Secrets.sha256Hex(token))
            .orElseThrow(() -> new AuthenticationException("unknown API token"));
    if (stored.revokedAt().isPresent()) {
      throw new AuthenticationException("API token " + stored.name() + " was revoked");
    }
    if (!stored.validAt(clock.instant())) {
      throw new AuthenticationException("API token " + stored.name() + " expired");
    }
    return new Principal(stored.name(), stored.role());
  }

  public List<ApiToken> list() {
    return store.list();
  }

  /**
   * @throws io.hodei.core.error.NotFoundException if there is no token of that name
   */
  public void revoke(String name) {
    if (!store.revoke(name, clock.instant())) {
      throw new io.hodei.core.error.NotFoundException("API token", name);
    }
  }
}
