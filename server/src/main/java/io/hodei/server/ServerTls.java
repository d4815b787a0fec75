package io.hodei.server;

import java.nio.file.Path;
import java.time.Duration;

/**
 * mTLS for the control plane.
 *
 * @param dir holds {@code ca.crt}, {@code server.crt} and {@code server.key} (as {@code hodei pki
 *     init} writes them); with {@code ca.key} there too, provisioned workers get certificates
 * @param reloadEvery how often the files are checked for changes and reloaded
 * @param expiryCheckEvery how often the expiry of the server and CA certificates is checked
 */
public record ServerTls(Path dir, Duration reloadEvery, Duration expiryCheckEvery) {
  public static ServerTls in(Path dir) {
    return new ServerTls(
        dir,
        io.hodei.security.ReloadingTls.DEFAULT_RELOAD,
        io.hodei.security.ReloadingTls.DEFAULT_CHECK);
  }
}
