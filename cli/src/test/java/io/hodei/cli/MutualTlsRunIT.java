package io.hodei.cli;

import static io.hodei.cli.HodeiRunIT.hodei;
import static org.assertj.core.api.Assertions.assertThat;

import io.hodei.server.ControlPlane;
import io.hodei.server.PoolSpec;
import io.hodei.server.ServerConfig;
import io.hodei.server.ServerTls;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * mTLS end to end: {@code hodei pki init}, a control plane serving mTLS whose local workers get
 * their certificates through the launch environment, and {@code hodei run --tls-dir}.
 */
class MutualTlsRunIT {
  @TempDir static Path dir;
  static Path tls;
  static ControlPlane plane;

  @BeforeAll
  static void start() {
    tls = dir.resolve("tls");
    var init = hodei("pki", "init", "--dir", tls.toString());
    assertThat(init.exitCode()).as(init.stderr()).isZero();
    plane =
        ControlPlane.start(
            ControlPlane.Settings.of(dir.resolve("data"), ServerConfig.defaults().withPort(0).withTls(ServerTls.in(tls)))
                .withPools(
                    List.of(
                        new PoolSpec.Local(
                            "local",
                            new PoolPolicy(2, Duration.ofMinutes(1), Duration.ofSeconds(60)),
                            Map.of())))
                .withLocalWorkerCommand(WorkerLauncher::command));
  }

  @AfterAll
  static void stop() {
    plane.close();
  }

  @Test
  void aJobRunsOnAProvisionedWorkerOverMutualTls() {
    var result =
        hodei("run", "--server", plane.address(), "--tls-dir", tls.toString(), "--", "echo", "hi");

    assertThat(result.exitCode()).as(result.stderr()).isZero();
    assertThat(result.stdout()).isEqualTo("hi\n");
  }

  @Test
  void aJobDoesNotSeeItsWorkersPrivateKey() {
    var result =
        hodei(
            "run",
            "--server",
            plane.address(),
            "--tls-dir",
            tls.toString(),
            "--",
            "sh",
            "-c",
            "echo key=${HODEI_TLS_KEY:-none}");

    assertThat(result.stdout()).isEqualTo("key=none\n");
  }

  @Test
  void aPlaintextClientIsToldItCannotReachTheServer() {
    var result = hodei("jobs", "list", "--server", plane.address());

    assertThat(result.exitCode()).isEqualTo(HodeiCli.EX_UNAVAILABLE);
    assertThat(result.stderr().strip()).doesNotContain("\n").startsWith("hodei: ");
  }

  @Test
  void aClientOfAnotherCaGetsAOneLineHandshakeError() {
    Path other = dir.resolve("other");
    assertThat(hodei("pki", "init", "--dir", other.toString()).exitCode()).isZero();

    var result = hodei("jobs", "list", "--server", plane.address(), "--tls-dir", other.toString());

    assertThat(result.exitCode()).isEqualTo(HodeiCli.EX_UNAVAILABLE);
    assertThat(result.stderr().strip())
        .doesNotContain("\n")
        .startsWith("hodei: TLS handshake with the Hodei server at");
  }

  @Test
  void aClientCertificateNotSignedByTheCaIsNamedBeforeDialling() {
    Path other = dir.resolve("other2");
    assertThat(hodei("pki", "init", "--dir", other.toString()).exitCode()).isZero();

    var result =
        hodei(
            "jobs",
            "list",
            "--server",
            plane.address(),
            "--ca",
            tls.resolve("ca.crt").toString(),
            "--cert",
            other.resolve("admin.crt").toString(),
            "--key",
            other.resolve("admin.key").toString());

    assertThat(result.stderr()).contains("admin.crt is not signed by ca.crt");
  }

  @Test
  void pkiIssueWritesAnOwnerOnlyUserCertificate() throws Exception {
    var result =
        hodei(
            "pki",
            "issue",
            "--dir",
            tls.toString(),
            "--kind",
            "user",
            "--name",
            "alice",
            "--days",
            "7");

    assertThat(result.exitCode()).as(result.stderr()).isZero();
    assertThat(
            PosixFilePermissions.toString(Files.getPosixFilePermissions(tls.resolve("alice.key"))))
        .isEqualTo("rw-------");
    var jobs =
        hodei(
            "jobs",
            "list",
            "--server",
            plane.address(),
            "--tls-dir",
            tls.toString(),
            "--cert",
            tls.resolve("alice.crt").toString(),
            "--key",
            tls.resolve("alice.key").toString());
    assertThat(jobs.exitCode()).as(jobs.stderr()).isZero();
  }

  @Test
  void pkiInitRefusesToReplaceTheCa() {
    var result = hodei("pki", "init", "--dir", tls.toString());

    assertThat(result.exitCode()).isEqualTo(HodeiCli.EX_CANTCREAT);
    assertThat(result.stderr()).contains("already exists").contains("--force");
  }

  @Test
  void pkiIssueWithoutACaSaysToRunInit() {
    var result =
        hodei(
            "pki",
            "issue",
            "--dir",
            dir.resolve("empty").toString(),
            "--kind",
            "worker",
            "--name",
            "w-1");

    assertThat(result.stderr()).contains("no ca.key in").contains("run hodei pki init");
  }

  @Test
  void theServerCommandRefusesPlaintextUnlessInsecure() {
    var result = hodei("server", "--port", "0", "--data-dir", dir.resolve("refused").toString());

    assertThat(result.exitCode()).isEqualTo(64);
    assertThat(result.stderr()).contains("hodei server needs --tls-dir DIR").contains("--insecure");
  }
}
