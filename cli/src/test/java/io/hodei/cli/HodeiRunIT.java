package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.hodei.server.ControlPlane;
import io.hodei.server.PoolSpec;
import io.hodei.server.ServerConfig;
import io.hodei.server.provisioning.PoolPolicy;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI against a real embedded control plane whose workers are started exactly as {@code hodei
 * dev} starts them: {@code java -cp ... io.hodei.cli.HodeiCli worker}.
 */
class HodeiRunIT {
  @TempDir static Path dir;
  static ControlPlane plane;

  @BeforeAll
  static void start() {
    // Anonymous local callers are admins here, so that tests of other things make admin calls
    // without a token; hodei dev does not do that (its anonymous callers are users, and admins
    // need DevAdminToken).
    plane =
        ControlPlane.start(
            ControlPlane.Settings.of(
                    dir.resolve("data"),
                    ServerConfig.defaults().withPort(0).withAnonymousRole(io.hodei.core.auth.Role.ADMIN))
                .withPools(
                    List.of(new PoolSpec.Local("local", new PoolPolicy(2, Duration.ofMinutes(1), Duration.ofSeconds(60)), Map.of())))
                .withLocalWorkerCommand(WorkerLauncher::command));
  }

  @AfterAll
  static void stop() {
    plane.close();
  }

  /** Runs the CLI in this JVM, capturing both the process streams and picocli's writers. */
  record Result(int exitCode, String stdout, String stderr) {}

  /** Like {@link #hodei}, with stdout as the exact bytes written. */
  record RawResult(int exitCode, byte[] stdout, String stderr) {}

  static synchronized RawResult hodeiRaw(String... args) {
    PrintStream realOut = System.out;
    PrintStream realErr = System.err;
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      var cli = HodeiCli.commandLine();
      cli.setErr(new PrintWriter(new StringWriter(), true));
      int code = cli.execute(args);
      System.out.flush();
      return new RawResult(code, out.toByteArray(), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(realOut);
      System.setErr(realErr);
    }
  }

  static synchronized Result hodei(String... args) {
    PrintStream realOut = System.out;
    PrintStream realErr = System.err;
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    var picoOut = new StringWriter();
    var picoErr = new StringWriter();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      var cli = HodeiCli.commandLine();
      cli.setOut(new PrintWriter(picoOut, true));
      cli.setErr(new PrintWriter(picoErr, true));
      int code = cli.execute(args);
      return new Result(
          code,
          out.toString(StandardCharsets.UTF_8) + picoOut,
          err.toString(StandardCharsets.UTF_8) + picoErr);
    } finally {
      System.setOut(realOut);
      System.setErr(realErr);
    }
  }

  @Test
  void runPrintsTheJobsOutputAndExitsZeroOnSuccess() {
    var result = hodei("run", "--server", plane.address(), "--", "echo", "hello");

    assertThat(result.exitCode()).isZero();
    assertThat(result.stdout()).isEqualTo("hello\n");
  }

  @Test
  void runExitsWithTheJobsExitCodeAndSplitsItsStreams() {
    var result =
        hodei("run", "-q", "--server", plane.address(), "--", "sh", "-c", "echo out; echo err >&2; exit 7");

    assertThat(result.exitCode()).isEqualTo(7);
    assertThat(result.stdout()).isEqualTo("out\n");
    assertThat(result.stderr()).contains("err\n");
  }

  @Test
  void runExits124WhenTheJobTimesOut() {
    var result = hodei("run", "--server", plane.address(), "--timeout", "1s", "--", "sleep", "30");

    assertThat(result.exitCode()).isEqualTo(124);
    assertThat(result.stderr()).contains("timeout");
  }

  @Test
  void runRunsAScriptFileWithTheChosenInterpreter() throws Exception {
    Path script = dir.resolve("hello.sh");
    Files.writeString(script, "echo \"hi $WHO\"\n");

    var result =
        hodei("run", "--server", plane.address(), "--env", "WHO=there", "--script", script.toString(), "--interpreter", "sh");

    assertThat(result.exitCode()).isZero();
    assertThat(result.stdout()).isEqualTo("hi there\n");
  }

  @Test
  void aJobRefusedByTheServerNamesTheFieldAndExitsNonZero() {
    var result = hodei("run", "--server", plane.address(), "--timeout", "-5s", "--", "echo");

    assertThat(result.exitCode()).isEqualTo(HodeiCli.EX_DATAERR);
    assertThat(result.stderr()).contains("definition.timeout");
  }

  @Test
  void aJobRefusedByTheServerPrintsDurationsAsTheyWereWritten() {
    var result = hodei("run", "--server", plane.address(), "--timeout", "-5s", "--", "echo");

    assertThat(result.stderr()).contains("got -5s").doesNotContain("PT-5S");
  }

  /**
   * A job silent for longer than three of the client's pings (shortened to grpc-java's floor of
   * 10 s) against the server's permitted ping rate: before the two agreed, the server answered
   * the third ping with GOAWAY too_many_pings and the CLI died with RESOURCE_EXHAUSTED.
   */
  @Test
  void aJobSilentForLongerThanThePingLimitsIsFollowedToItsEnd() {
    System.setProperty("hodei.grpc.keepalive", "10s");
    try {
      var result = hodei("run", "-q", "--server", plane.address(), "--", "sh", "-c", "sleep 35; echo done");

      assertThat(result.exitCode()).as(result.stderr()).isZero();
      assertThat(result.stdout()).isEqualTo("done\n");
      assertThat(result.stderr()).doesNotContain("too_many_pings", "GOAWAY");
    } finally {
      System.clearProperty("hodei.grpc.keepalive");
    }
  }

  @Test
  void aDetachedRunPrintsTheJobIdAndWaitExitsWithTheJobsCode() {
    var detached = hodei("run", "--detach", "--server", plane.address(), "--", "sh", "-c", "sleep 1; exit 3");

    assertThat(detached.exitCode()).isZero();
    String id = detached.stdout().strip();
    assertThat(id).matches("[0-9a-f-]{36}");
    var waited = hodei("wait", "--server", plane.address(), id);
    assertThat(waited.exitCode()).isEqualTo(3);
    assertThat(waited.stderr()).contains("job " + id + " failed");
    assertThat(hodei("wait", "-q", "--server", plane.address(), id).stderr()).isEmpty();
  }

  @Test
  void waitingForAJobThatDoesNotExistSaysSo() {
    var waited = hodei("wait", "--server", plane.address(), "00000000-0000-0000-0000-000000000000");

    assertThat(waited.exitCode()).isNotZero();
    assertThat(waited.stderr()).contains("00000000-0000-0000-0000-000000000000");
  }

  @Test
  void runSaysWhenAnAttemptEndsAndTheNextStarts() {
    var result =
        hodei("run", "--server", plane.address(), "--retries", "1", "--retry-backoff", "100ms", "--",
            "sh", "-c", "sleep 1.5; [ \"$HODEI_ATTEMPT\" = 2 ] && echo second || exit 9");

    assertThat(result.exitCode()).as(result.stderr()).isZero();
    assertThat(result.stdout()).isEqualTo("second\n");
    assertThat(result.stderr()).containsPattern("attempt 1 of 2 ended \\(.*9.*\\); attempt 2 starts");
  }

  /**
   * What the job wrote, byte for byte, through {@code hodei run} and {@code hodei logs}: the job
   * prints the sha256 of its own output on stderr, and the test compares it with the sha256 of
   * what the CLI printed. The cases: a 3 MB line (46 pieces on the wire), random binary (invalid
   * UTF-8, {@code \r}, NULs), no final newline, and an empty last line.
   */
  @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.ValueSource(strings = {
    "head -c 3000000 /dev/zero | tr '\\0' x > out; printf '\\nend' >> out",
    "head -c 2000000 /dev/urandom > out",
    "printf 'a\\r\\nb\\r\\n\\n\\n' > out",
    "printf 'no final newline' > out",
  })
  void outputComesBackByteForByte(String make) throws Exception {
    String script = make + "; cat out; sha256sum < out | cut -c1-64 >&2";

    var run = hodeiRaw("run", "-q", "--server", plane.address(), "--", "sh", "-c", script);
    assertThat(run.exitCode()).as(run.stderr()).isZero();
    String written = run.stderr().strip();
    assertThat(written).matches("[0-9a-f]{64}");
    assertThat(sha256(run.stdout())).isEqualTo(written);

    String id = hodei("jobs", "list", "--server", plane.address(), "-o", "json", "--limit", "1").stdout()
        .replaceAll("(?s).*?\"(?:job_id|jobId)\"\\s*:\\s*\"([0-9a-f-]{36})\".*", "$1");
    var logs = hodeiRaw("logs", "--server", plane.address(), id);
    assertThat(logs.exitCode()).as(logs.stderr()).isZero();
    assertThat(sha256(logs.stdout())).isEqualTo(written);
  }

  private static String sha256(byte[] bytes) throws Exception {
    return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  @Test
  void anUnreachableServerGivesOneLineAndExit69() throws Exception {
    int freePort;
    try (var socket = new ServerSocket(0)) {
      freePort = socket.getLocalPort();
    }
    var result = hodei("jobs", "list", "--server", "127.0.0.1:" + freePort);

    assertThat(result.exitCode()).isEqualTo(69);
    assertThat(result.stderr().strip()).startsWith("hodei: cannot reach the Hodei server at 127.0.0.1:" + freePort);
    assertThat(result.stderr().strip().lines()).hasSize(1);
  }

  @Test
  void jobsListAndGetShowFinishedJobsAlsoAsJson() {
    hodei("run", "-q", "--server", plane.address(), "--name", "listed-job", "--", "echo", "listed");

    var table = hodei("jobs", "list", "--server", plane.address());
    var json = hodei("jobs", "list", "--server", plane.address(), "-o", "json", "--state", "succeeded", "--limit", "1");

    assertThat(table.exitCode()).isZero();
    assertThat(table.stdout()).contains("listed-job").contains("succeeded");
    assertThat(json.exitCode()).isZero();
    assertThat(json.stdout()).contains("\"name\": \"listed-job\"").contains("JOB_STATE_SUCCEEDED");
    String id = json.stdout().lines().filter(l -> l.contains("\"jobId\"")).findFirst().orElseThrow().split("\"")[3];

    var detail = hodei("jobs", "get", id, "--server", plane.address());
    var logs = hodei("logs", id, "--server", plane.address());

    assertThat(detail.stdout()).contains("Job:       " + id).contains("#1").contains("succeeded");
    assertThat(logs.exitCode()).isZero();
    assertThat(logs.stdout()).isNotEmpty();
  }

  private static io.hodei.api.v1.JobExecutionServiceGrpc.JobExecutionServiceBlockingStub api(io.grpc.ManagedChannel channel) {
    return io.hodei.api.v1.JobExecutionServiceGrpc.newBlockingStub(channel);
  }

  @Test
  void runExits130WhenItsJobIsCancelled() throws Exception {
    var run =
        java.util.concurrent.CompletableFuture.supplyAsync(
            () -> hodei("run", "-q", "--server", plane.address(), "--name", "to-cancel", "--", "sleep", "60"));
    var channel = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forTarget(plane.address()).usePlaintext().build();
    try {
      // The CLI holds this JVM's stdout while it runs, so the cancel goes through the API.
      var running =
          org.awaitility.Awaitility.await()
              .atMost(Duration.ofSeconds(30))
              .until(
                  () ->
                      api(channel).listJobs(
                              io.hodei.api.v1.ListJobsRequest.newBuilder()
                                  .setNamePrefix("to-cancel")
                                  .addStates(io.hodei.api.v1.JobState.JOB_STATE_RUNNING)
                                  .build())
                          .getJobsList(),
                  jobs -> !jobs.isEmpty());
      api(channel).cancelJob(
          io.hodei.api.v1.CancelJobRequest.newBuilder().setJobId(running.getFirst().getJobId()).build());

      assertThat(run.get(60, java.util.concurrent.TimeUnit.SECONDS).exitCode()).isEqualTo(130);
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void cancelRecordsTheReasonAndRefusesAFinishedJob() {
    var channel = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forTarget(plane.address()).usePlaintext().build();
    String id;
    try {
      id =
          api(channel)
              .queueJob(
                  io.hodei.api.v1.QueueJobRequest.newBuilder()
                      .setDefinition(
                          io.hodei.api.v1.JobDefinition.newBuilder()
                              .setName("cancel-me")
                              .setCommand(
                                  io.hodei.api.v1.CommandSpec.newBuilder()
                                      .setShell(io.hodei.api.v1.ShellCommand.newBuilder().setCmd("sleep").addArgs("60"))))
                      .build())
              .getJobId();
    } finally {
      channel.shutdownNow();
    }

    var cancel = hodei("cancel", id, "--reason", "changed my mind", "--server", plane.address());

    assertThat(cancel.exitCode()).isZero();
    assertThat(cancel.stdout()).contains(id);
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> hodei("jobs", "get", id, "--server", plane.address()).stdout().contains("State:     cancelled"));
    assertThat(hodei("jobs", "get", id, "--server", plane.address()).stdout()).contains("changed my mind");
    var again = hodei("cancel", id, "--server", plane.address());
    assertThat(again.exitCode()).isEqualTo(HodeiCli.EX_DATAERR);
    assertThat(again.stderr()).contains("already cancelled");
  }

  @Test
  void retryRunsAFailedJobAgainAndRunRetriesOnItsOwn() throws Exception {
    // The attempt number is in each attempt's environment; the first one fails.
    var result =
        hodei(
            "run", "-q", "--server", plane.address(), "--retries", "2", "--retry-backoff", "100ms", "--",
            "sh", "-c", "if [ \"$HODEI_ATTEMPT\" -ge 2 ]; then echo recovered; else exit 5; fi");

    assertThat(result.exitCode()).isZero();
    assertThat(result.stdout()).isEqualTo("recovered\n");

    var failed = hodei("run", "-q", "--server", plane.address(), "--name", "fails-once-more", "--", "false");
    assertThat(failed.exitCode()).isEqualTo(1);
    String id =
        hodei("jobs", "list", "--server", plane.address(), "--name", "fails-once-more", "-o", "json")
            .stdout().lines().filter(l -> l.contains("\"jobId\"")).findFirst().orElseThrow().split("\"")[3];
    var retried = hodei("retry", id, "--server", plane.address());
    assertThat(retried.exitCode()).isZero();
    assertThat(retried.stdout()).contains("attempt 2");
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> hodei("jobs", "get", id, "--server", plane.address()).stdout().contains("#2  failed"));
  }

  @Test
  void workersListShowsTheLocalWorkersAndTheirState() {
    hodei("run", "-q", "--server", plane.address(), "--", "true");

    var workers = hodei("workers", "list", "--server", plane.address());

    assertThat(workers.exitCode()).isZero();
    assertThat(workers.stdout()).contains("WORKER").contains("local").containsPattern("w-\\w+\\s+(ready|busy)");
  }

  @Test
  void scheduleExplainsWithoutQueuingWhyNoWorkerFits() {
    hodei("run", "-q", "--server", plane.address(), "--", "true"); // a warm, free worker

    var decision =
        hodei("schedule", "--server", plane.address(), "--capability", "docker", "--selector", "zone in (mars)", "--", "echo");
    var fits = hodei("schedule", "--server", plane.address(), "--", "echo");

    assertThat(decision.exitCode()).isZero();
    assertThat(decision.stdout()).containsPattern("worker w-\\w+: label selector zone in \\(mars\\) not met \\(no zone label\\)");
    assertThat(fits.stdout()).startsWith("would run now on worker w-");
    var refused = hodei("schedule", "--server", plane.address(), "--strategy", "fastest", "--", "echo");
    assertThat(refused.exitCode()).isEqualTo(HodeiCli.EX_DATAERR);
    assertThat(refused.stderr()).contains("definition.constraints.strategy").contains("round-robin");
  }

  @Test
  void providersListAndHealthShowTheLocalProvider() {
    var list = hodei("providers", "list", "--server", plane.address());
    var health = hodei("providers", "health", "--server", plane.address());

    assertThat(list.exitCode()).isZero();
    assertThat(list.stdout()).containsPattern("local\\s+local\\s+healthy");
    assertThat(health.exitCode()).isZero();
    assertThat(health.stdout().strip()).isEqualTo("local: healthy");
  }

  @Test
  void drainingAnUnknownWorkerIsAClearError() {
    var result = hodei("workers", "drain", "w-nobody", "--server", plane.address());

    assertThat(result.exitCode()).isEqualTo(HodeiCli.EX_NOINPUT);
    assertThat(result.stderr()).contains("worker w-nobody not found");
  }
}
