package io.hodei.cli;

import io.hodei.core.auth.Principal;
import io.hodei.core.auth.Role;
import io.hodei.core.auth.TokenService;
import io.hodei.core.error.AuthenticationException;
import io.hodei.core.error.UnavailableException;
import io.hodei.core.files.FileModes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Optional;
import java.security.SecureRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin credential of {@code hodei dev}: an admin API token kept in {@code DATA/admin.token},
 * mode 0600 in the 0700 data directory, so that only the OS user running the control plane can
 * read it. Anonymous local callers are only {@code user}s in dev mode; admin RPCs need this token.
 *
 * <p>Invariants: at most one {@code dev-admin-*} token is active after {@link #ensure}; it is the
 * one in the file. A file whose token still authenticates as an admin {@code dev-admin-*} token is
 * reused (restarts keep the credential); otherwise a new token is issued and written, and every
 * older active {@code dev-admin-*} token is revoked (a lost or altered file leaves no live
 * credential behind).
 */
final class DevAdminToken {
  private static final Logger log = LoggerFactory.getLogger(DevAdminToken.class);
  static final String FILE = "admin.token";
  static final String NAME_PREFIX = "dev-admin-";
  /** Where client commands look for the file instead of {@code .hodei/data/admin.token}. */
  static final String ENV_FILE = "HODEI_ADMIN_TOKEN_FILE";
  static final Path DEFAULT_FILE = Path.of(".hodei", "data", FILE);

  private static final SecureRandom RANDOM = new SecureRandom();

  private DevAdminToken() {}

  /** The file in {@code dataDir}, holding a working admin token when this returns. */
  static Path ensure(Path dataDir, TokenService tokens) {
    Path file = dataDir.resolve(FILE);
    Optional<String> existing = read(file);
    if (existing.isPresent()) {
      try {
        Principal principal = tokens.authenticate(existing.get());
        if (principal.role() == Role.ADMIN && principal.name().startsWith(NAME_PREFIX)) {
          FileModes.restrictFile(file);
          return file;
        }
      } catch (AuthenticationException e) {
        log.info("{} no longer works ({}); issuing a new admin token", file, e.getMessage());
      }
    }
    for (var token : tokens.list()) {
      if (token.name().startsWith(NAME_PREFIX) && token.revokedAt().isEmpty()) {
        tokens.revoke(token.name());
      }
    }
    byte[] suffix = new byte[4];
    RANDOM.nextBytes(suffix);
    var issued =
        tokens.issue(NAME_PREFIX + HexFormat.of().formatHex(suffix), Role.ADMIN, Optional.empty());
    FileModes.writePrivate(file, (issued.token() + "\n").getBytes(StandardCharsets.US_ASCII));
    log.info("issued admin token {} into {}", issued.stored().name(), file);
    return file;
  }

  /** The token in {@code file}, if it exists and can be read. */
  static Optional<String> read(Path file) {
    try {
      if (!Files.isReadable(file)) {
        return Optional.empty();
      }
      String token = Files.readString(file, StandardCharsets.US_ASCII).strip();
      return token.isEmpty() ? Optional.empty() : Optional.of(token);
    } catch (IOException e) {
      return Optional.empty();
    } catch (UnavailableException e) {
      return Optional.empty();
    }
  }
}
