package io.hodei.cli;

import static io.hodei.cli.HodeiRunIT.hodei;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, end to end with real processes: {@code hodei dev --tls-dir} as its own process, with
 * canaries for its own secrets in its environment, provisions a local worker over mTLS. Neither
 * the worker's environment nor its command line, read from {@code /proc} from outside and by the
 * job itself, holds any of them, nor the token's variable or any PEM text, and the job still runs.
 */
class WorkerCredentialsIT {
  @TempDir Path dir;

  @Test
  void noCredentialOfTheControlPlaneOrTheWorkerIsInALocalWorkersEnvironmentOrCommandLine() throws Exception {
    Path tls = dir.resolve("tls");
    var init = hodei("pki", "init", "--dir", tls.toString());
    assertThat(init.exitCode()).as(init.stderr()).isZero();
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    String secretKey = Base64.getEncoder().encodeToString(key);
    String apiToken = "canary-api-" + UUID.randomUUID();
    String other = "canary-other-" + UUID.randomUUID();
    var canaries =
        Map.of("HODEI_SECRET_KEY", secretKey, "HODEI_API_TOKEN", apiToken, "HODEI_CANARY_OTHER", other);

    try (var server = new ServerProcess(dir.resolve("data"), List.of("--tls-dir", tls.toString()), canaries).start()) {
      var result =
          hodei(
              "run", "-q", "--server", server.address(), "--tls-dir", tls.toString(), "--",
              "sh", "-c",
              "env; echo ---; tr '\\0' '\\n' < /proc/$PPID/environ; echo ---; tr '\\0' ' ' < /proc/$PPID/cmdline; echo");

      assertThat(result.exitCode()).as(result.stderr()).isZero(); // registered and ran over mTLS
      // The job's parent is its sandbox's pid 1: the worker is not even in its pid namespace.
      assertThat(result.stdout())
          .contains("HODEI_JOB_ID=", "bwrap")
          .doesNotContain("HODEI_WORKER_ID=", "io.hodei.worker.WorkerMain", "--worker-id=")
          .doesNotContain(secretKey, apiToken, other, "HODEI_TOKEN", "HODEI_TLS_", "BEGIN", "PRIVATE KEY");

      ProcessHandle worker =
          server.handle().descendants()
              .filter(p -> cmdline(p).contains("io.hodei.worker.WorkerMain") && cmdline(p).contains("--worker-id="))
              .findFirst()
              .orElseThrow();
      String environ = Files.readString(Path.of("/proc", Long.toString(worker.pid()), "environ"));
      assertThat(environ + cmdline(worker))
          .contains("HODEI_WORKER_ID=")
          .doesNotContain(secretKey, apiToken, other, "HODEI_TOKEN", "HODEI_TLS_", "BEGIN", "PRIVATE KEY");
      // Nor does any other process the control plane started (the AOT training run, say).
      for (ProcessHandle child : server.handle().descendants().toList()) {
        String childEnviron;
        try {
          childEnviron = Files.readString(Path.of("/proc", Long.toString(child.pid()), "environ"));
        } catch (java.io.IOException gone) {
          continue;
        }
        assertThat(childEnviron).as(cmdline(child)).doesNotContain(secretKey, apiToken, other);
      }
    }
  }

  private static String cmdline(ProcessHandle process) {
    try {
      return Files.readString(Path.of("/proc", Long.toString(process.pid()), "cmdline")).replace('\0', ' ');
    } catch (java.io.IOException e) {
      return "";
    }
  }
}
