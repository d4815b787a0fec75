package io.hodei.cli;

import static io.hodei.cli.HodeiRunIT.hodei;
import static org.assertj.core.api.Assertions.assertThat;

import io.hodei.server.ControlPlane;
import io.hodei.server.PoolSpec;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hodei tokens} and {@code hodei audit} against the embedded control plane as {@code hodei
 * dev} runs it (local callers without credentials are users; the admin presents the token dev
 * keeps in its data directory), with real worker processes.
 */
class TokensCliIT {
  @TempDir static Path dir;
  static ControlPlane plane;
  static String admin;

  @BeforeAll
  static void start() throws Exception {
    plane =
        ControlPlane.start(
            ControlPlane.Settings.of(
                    dir.resolve("data"),
                    io.hodei.server.ServerConfig.defaults()
                        .withPort(0)
                        .withAnonymousRole(io.hodei.core.auth.Role.USER))
                .withPools(
                    java.util.List.of(
                        new PoolSpec.Local(
                            "local", new PoolPolicy(2, Duration.ofMinutes(1), Duration.ofSeconds(60)), java.util.Map.of())))
                .withLocalWorkerCommand(WorkerLauncher::command));
    admin =
        java.nio.file.Files.readString(DevAdminToken.ensure(dir.resolve("data"), plane.tokens())).strip();
  }

  @AfterAll
  static void stop() {
    plane.close();
  }

  @Test
  void aTokenIssuedLocallyRunsJobsAsItsNameUntilItIsRevoked() {
    var created =
        hodei(
            "tokens",
            "create",
            "--server",
            plane.address(),
            "--token",
            admin,
            "--role",
            "user",
            "--name",
            "ci",
            "--expires",
            "90d");
    assertThat(created.exitCode()).as(created.stderr()).isZero();
    String token = created.stdout().strip();
    assertThat(token).startsWith("hodei_");

    var run = hodei("run", "--server", plane.address(), "--token", token, "--", "echo", "as ci");
    assertThat(run.exitCode()).as(run.stderr()).isZero();
    assertThat(run.stdout()).isEqualTo("as ci\n");
    var listed = hodei("jobs", "list", "--server", plane.address(), "--token", token, "-o", "json");
    assertThat(listed.stdout()).contains("\"owner\": \"ci\"");

    var deniedAdmin = hodei("tokens", "list", "--server", plane.address(), "--token", token);
    assertThat(deniedAdmin.exitCode()).isEqualTo(HodeiCli.EX_NOPERM);
    assertThat(deniedAdmin.stderr()).contains("PERMISSION_DENIED");

    var anonymousList = hodei("tokens", "list", "--server", plane.address());
    assertThat(anonymousList.exitCode()).isEqualTo(HodeiCli.EX_NOPERM);
    assertThat(anonymousList.stderr()).contains("PERMISSION_DENIED");

    var tokens = hodei("tokens", "list", "--server", plane.address(), "--token", admin);
    assertThat(tokens.stdout()).contains("ci").contains("active").doesNotContain(token);
    assertThat(hodei("tokens", "revoke", "--server", plane.address(), "--token", admin, "ci").exitCode()).isZero();

    var revoked = hodei("jobs", "list", "--server", plane.address(), "--token", token);
    assertThat(revoked.exitCode()).isEqualTo(HodeiCli.EX_NOPERM);
    assertThat(revoked.stderr()).contains("UNAUTHENTICATED").contains("revoked");

    var audit = hodei("audit", "--server", plane.address(), "--token", admin, "--since", "1h", "-o", "json");
    assertThat(audit.exitCode()).as(audit.stderr()).isZero();
    assertThat(audit.stdout())
        .contains("TOKEN_CREATED")
        .contains("TOKEN_REVOKED")
        .contains("WORKER_REGISTERED")
        .contains("AUTHENTICATION_FAILED")
        .doesNotContain(token)
        .doesNotContain(admin);
    var onlyRevocations = hodei("audit", "--server", plane.address(), "--token", admin, "--kind", "token_revoked");
    assertThat(onlyRevocations.stdout()).contains("token_revoked").doesNotContain("token_created");
  }
}
