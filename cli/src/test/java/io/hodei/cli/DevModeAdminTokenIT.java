package io.hodei.cli;

import static io.hodei.cli.HodeiRunIT.hodei;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hodei dev} as a real process: local callers without credentials are users, and admin
 * calls need the token it keeps, owner-only, in its data directory and names at start.
 */
class DevModeAdminTokenIT {
  @TempDir Path dir;

  private static String mode(Path path) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
  }

  @Test
  void anAnonymousLocalCallerIsRefusedAnAdminTokenAndTheCredentialDevNamesWorks() throws Exception {
    Path data = dir.resolve("data");
    try (var server = new ServerProcess(data, List.of()).start()) {
      Path file = data.resolve("admin.token");
      assertThat(server.output)
          .anySatisfy(line -> assertThat(line).contains("admin token in " + file));
      assertThat(mode(data)).isEqualTo("rwx------");
      assertThat(mode(file)).isEqualTo("rw-------");
      assertThat(mode(data.resolve("hodei.db"))).isEqualTo("rw-------");
      assertThat(mode(data.resolve("secret.key"))).isEqualTo("rw-------");
      String token = Files.readString(file).strip();

      var anonymous =
          hodei("tokens", "create", "--server", server.address(), "--role", "admin", "--name", "mine");
      assertThat(anonymous.exitCode()).isEqualTo(HodeiCli.EX_NOPERM);
      assertThat(anonymous.stderr()).contains("PERMISSION_DENIED");

      var created =
          hodei(
              "tokens", "create", "--server", server.address(), "--token", token,
              "--role", "admin", "--name", "mine");
      assertThat(created.exitCode()).as(created.stderr()).isZero();
      assertThat(created.stdout().strip()).startsWith("hodei_");

      var listed = hodei("jobs", "list", "--server", server.address());
      assertThat(listed.exitCode()).as("anonymous local callers are users").isZero();
    }
  }

  @Test
  void aRestartKeepsTheAdminTokenAndTightensAWidenedDataDirectory() throws Exception {
    Path data = dir.resolve("data");
    String token;
    try (var server = new ServerProcess(data, List.of()).start()) {
      token = Files.readString(data.resolve("admin.token")).strip();
    }
    Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.setPosixFilePermissions(data.resolve("hodei.db"), PosixFilePermissions.fromString("rw-r--r--"));

    try (var server = new ServerProcess(data, List.of()).start()) {
      assertThat(Files.readString(data.resolve("admin.token")).strip()).isEqualTo(token);
      assertThat(mode(data)).isEqualTo("rwx------");
      assertThat(mode(data.resolve("hodei.db"))).isEqualTo("rw-------");
      var tokens = hodei("tokens", "list", "--server", server.address(), "--token", token);
      assertThat(tokens.exitCode()).as(tokens.stderr()).isZero();
      assertThat(tokens.stdout()).contains("dev-admin-");
    }
    // The server process runs on the test class path, whose logback-test.xml logs to this file.
    assertThat(Files.readString(Path.of("target", "hodei-cli-it.log")))
        .contains(data + " was mode 0755")
        .contains(data.resolve("hodei.db") + " was mode 0644");
  }
}
