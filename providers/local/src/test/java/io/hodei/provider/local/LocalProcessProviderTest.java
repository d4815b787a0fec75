package io.hodei.provider.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hodei.core.provider.ProviderHealth;
import io.hodei.core.provider.WorkerBootstrap;
import io.hodei.core.provider.WorkerLaunch;
import io.hodei.core.worker.WorkerId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalProcessProviderTest {
  @TempDir Path dir;

  private LocalProcessProvider provider(List<String> command) {
    return new LocalProcessProvider(
        new LocalProcessProvider.Config("local", command, dir.resolve("workers"), Duration.ofSeconds(2), Map.of()));
  }

  private static WorkerLaunch launch(String worker, Map<String, String> env) {
    return new WorkerLaunch(new WorkerId(worker), "127.0.0.1:1", WorkerBootstrap.plaintext("otp-" + worker), env);
  }

  @Test
  void aWorkerGetsItsSettingsInItsEnvironmentItsTokenOnStdinAndIsStoppedOnDestroy() throws Exception {
    var provider =
        provider(List.of("/bin/sh", "-c", "echo \"$HODEI_WORKER_ID ${HODEI_TOKEN:-no-token} $HODEI_SERVER_ADDRESS $EXTRA $0\"; cat; exec sleep 60"));
    var tls = new WorkerBootstrap.Tls("ca-pem", "cert-pem", "key-pem");
    var launch =
        new WorkerLaunch(
            new WorkerId("w-test"), "127.0.0.1:1", new WorkerBootstrap("otp-1", java.util.Optional.of(tls)), Map.of("EXTRA", "x"));

    var handle = provider.create(launch);

    Path log = dir.resolve("workers/w-test.log");
    await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(log) && Files.readString(log).contains("end"));
    assertThat(Files.readString(log).lines().toList())
        .containsExactly(
            "w-test no-token 127.0.0.1:1 x --worker-id=w-test",
            "hodei-bootstrap 1",
            "token otp-1",
            "tls-ca " + base64("ca-pem"),
            "tls-cert " + base64("cert-pem"),
            "tls-key " + base64("key-pem"),
            "end");
    assertThat(provider.isAlive(handle)).isTrue();
    long pid = Long.parseLong(handle.reference());
    String environ = Files.readString(Path.of("/proc", Long.toString(pid), "environ"));
    String cmdline = Files.readString(Path.of("/proc", Long.toString(pid), "cmdline"));
    assertThat(environ + cmdline).doesNotContain("otp-1", "key-pem", base64("key-pem"), "cert-pem");
    // Built, not inherited: nothing of this JVM's environment but the few inherited variables
    // (and PWD, which sh exports itself).
    var names = java.util.Arrays.stream(environ.split("\0")).map(e -> e.substring(0, e.indexOf('='))).toList();
    assertThat(names).isSubsetOf(concat(LocalProcessProvider.INHERITED, "HODEI_WORKER_ID", "HODEI_SERVER_ADDRESS", "EXTRA", "PWD"));
    assertThat(names).contains("PATH", "HODEI_WORKER_ID");

    provider.destroy(handle);

    assertThat(provider.isAlive(handle)).isFalse();
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).isNotEqualTo(java.util.Optional.of(true));
    provider.destroy(handle); // idempotent
  }

  @Test
  void theControlPlanesOwnSecretsAndOtherVariablesNeverReachAWorker() {
    var provider =
        new LocalProcessProvider(
            new LocalProcessProvider.Config("local", List.of("/bin/sh"), dir, Duration.ofSeconds(2), Map.of("HODEI_KILL_GRACE", "1s")));
    var controlPlane =
        Map.of(
            "PATH", "/usr/bin:/bin",
            "HOME", "/home/h",
            "HODEI_SECRET_KEY", "canary-secret-key",
            "HODEI_API_TOKEN", "canary-api-token",
            "AWS_SECRET_ACCESS_KEY", "canary-aws",
            "JAVA_TOOL_OPTIONS", "-Dcanary=1");

    var env = provider.environment(controlPlane, launch("w-env", Map.of("HODEI_DRAIN_TIMEOUT", "0s")));

    assertThat(env)
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "PATH", "/usr/bin:/bin",
                "HOME", "/home/h",
                "HODEI_KILL_GRACE", "1s",
                "HODEI_DRAIN_TIMEOUT", "0s",
                "HODEI_WORKER_ID", "w-env",
                "HODEI_SERVER_ADDRESS", "127.0.0.1:1"));
  }

  @Test
  void aCredentialVariableIsRefusedInAWorkersEnvironment() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                new LocalProcessProvider.Config(
                    "local", List.of("/bin/sh"), dir, Duration.ofSeconds(2), Map.of("HODEI_TOKEN", "t")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("HODEI_TOKEN");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> launch("w", Map.of("HODEI_TLS_KEY", "k")))
        .hasMessageContaining("HODEI_TLS_KEY");
  }

  private static String base64(String text) {
    return java.util.Base64.getEncoder().encodeToString(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  private static List<String> concat(List<String> list, String... more) {
    var all = new java.util.ArrayList<>(list);
    all.addAll(List.of(more));
    return all;
  }

  @Test
  void aWorkerThatIgnoresSigtermIsKilledAfterTheGracePeriod() {
    var provider = provider(List.of("/bin/sh", "-c", "trap '' TERM; echo ready; while true; do sleep 1; done"));
    var handle = provider.create(launch("w-stubborn", Map.of()));
    await().atMost(Duration.ofSeconds(10))
        .until(() -> Files.readString(dir.resolve("workers/w-stubborn.log")).contains("ready"));

    provider.destroy(handle);

    assertThat(provider.isAlive(handle)).isFalse();
  }

  @Test
  void healthIsUnhealthyWhenTheWorkerProgramCannotRun() {
    assertThat(provider(List.of("/bin/sh")).health()).isEqualTo(new ProviderHealth.Healthy());
    assertThat(provider(List.of("/nonexistent/java")).health())
        .isInstanceOfSatisfying(
            ProviderHealth.Unhealthy.class, u -> assertThat(u.reason()).contains("/nonexistent/java"));
  }

  @Test
  void aWorkerStartedByAnEarlierRunIsFoundByItsPidAndTheWorkerIdInItsCommandLine() throws Exception {
    // Not `exec sleep`: the worker's own command line, with its id, must stay.
    var first = provider(List.of("/bin/sh", "-c", "echo up; sleep 60 & wait"));
    var handle = first.create(launch("w-old", Map.of()));
    await().atMost(Duration.ofSeconds(10)).until(() -> Files.readString(dir.resolve("workers/w-old.log")).contains("up"));

    // A new provider instance, as after a restart of the control plane, knows only the handle.
    var restarted = provider(List.of("/bin/sh"));
    var recorded = new io.hodei.core.provider.WorkerHandle(new WorkerId("w-old"), "local", handle.reference());
    var impostor = new io.hodei.core.provider.WorkerHandle(new WorkerId("w-other"), "local", handle.reference());

    assertThat(restarted.isAlive(recorded)).isTrue();
    assertThat(restarted.isAlive(impostor)).isFalse();
    restarted.destroy(recorded);
    assertThat(restarted.isAlive(recorded)).isFalse();
  }

  @Test
  void aWorkerOfAnEarlierRunIsFoundByItsIdAloneButNotAProcessOfAnotherUserCarryingIt() throws Exception {
    var first = provider(List.of("/bin/sh", "-c", "echo up; sleep 60 & wait"));
    var handle = first.create(launch("w-lost", Map.of()));
    await().atMost(Duration.ofSeconds(10)).until(() -> Files.readString(dir.resolve("workers/w-lost.log")).contains("up"));
    // A job's process runs under a uid of its own: the id in its command line does not make it a worker.
    Process impostor = null;
    if ("root".equals(System.getProperty("user.name"))) {
      impostor = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
          "sh", "-c", "sleep 60", "--worker-id=w-job").start();
    }
    try {
      var restarted = provider(List.of("/bin/sh"));

      assertThat(restarted.find(new WorkerId("w-lost"))).get()
          .satisfies(found -> assertThat(found.reference()).isEqualTo(handle.reference()));
      assertThat(restarted.find(new WorkerId("w-nobody"))).isEmpty();
      if (impostor != null) {
        Process started = impostor;
        await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.of(started.pid())
            .flatMap(p -> p.info().arguments()).map(a -> List.of(a).contains("--worker-id=w-job")).orElse(false));
        assertThat(restarted.find(new WorkerId("w-job"))).isEmpty();
      }
      restarted.destroy(restarted.find(new WorkerId("w-lost")).orElseThrow());
      assertThat(restarted.isAlive(handle)).isFalse();
    } finally {
      if (impostor != null) {
        impostor.destroyForcibly();
      }
    }
  }

  @Test
  void aProcessWithTheWorkerIdOnlyInItsEnvironmentIsNotTakenForTheWorker() throws Exception {
    // A worker is not dumpable, so its environ is root's: the id is looked for in argv only.
    var builder = new ProcessBuilder("sleep", "60");
    builder.environment().put("HODEI_WORKER_ID", "w-env-only");
    Process stranger = builder.start();
    try {
      var restarted = provider(List.of("/bin/sh"));
      var handle =
          new io.hodei.core.provider.WorkerHandle(new WorkerId("w-env-only"), "local", Long.toString(stranger.pid()));

      assertThat(restarted.isAlive(handle)).isFalse();
      restarted.destroy(handle);
      assertThat(stranger.isAlive()).isTrue();
    } finally {
      stranger.destroyForcibly();
    }
  }
}
