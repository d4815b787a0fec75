package io.hodei.worker;

import static io.hodei.worker.FakeControlPlane.GOOD_TOKEN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hodei.api.v1.Attach;
import io.hodei.api.v1.JobOutcome;
import io.hodei.api.v1.JobResult;
import io.hodei.api.v1.LogLine;
import io.hodei.api.v1.LogStream;
import io.hodei.api.v1.RegisterRequest;
import io.hodei.api.v1.WorkerHeartbeat;
import io.hodei.api.v1.WorkerInfo;
import io.hodei.api.v1.WorkerMessage;
import io.hodei.api.v1.WorkerStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The real worker agent, real processes, and a real gRPC server on 127.0.0.1 playing the control
 * plane ({@link FakeControlPlane}).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class WorkerAgentTest extends AgentTestSupport {
  @Test
  void aWorkerRegistersWithItsTokenAndMachineThenAttachesAndSendsHeartbeats() {
    startWorker(config());

    await().untilAsserted(() -> assertThat(server.heartbeats()).hasSizeGreaterThanOrEqualTo(3));

    RegisterRequest registration = server.registrations.getFirst();
    assertThat(registration.getAuthToken()).isEqualTo(GOOD_TOKEN);
    WorkerInfo info = registration.getWorkerInfo();
    assertThat(info.getWorkerId()).isEqualTo("worker-1");
    assertThat(info.getName()).isEqualTo("test worker");
    assertThat(info.getHostname()).isNotBlank();
    assertThat(info.getCapabilitiesList()).containsExactly("shell", "script");
    assertThat(info.getCapacity().getCpuCores())
        .isEqualTo(Runtime.getRuntime().availableProcessors());
    assertThat(info.getCapacity().getMemoryBytes()).isPositive();
    assertThat(info.getLabelsMap()).containsExactly(Map.entry("zone", "test"));

    assertThat(server.messagesOnStream(1).getFirst().getAttach())
        .isEqualTo(Attach.newBuilder().setWorkerId("worker-1").setSessionId("session-1").build());
    WorkerHeartbeat heartbeat = server.heartbeats().getFirst();
    assertThat(heartbeat.getStatus()).isEqualTo(WorkerStatus.WORKER_STATUS_READY);
    assertThat(heartbeat.getRunningExecutionIdsList()).isEmpty();
    assertThat(heartbeat.hasAt()).isTrue();
  }

  @Test
  void heartbeatsCarryTheWorkersResourceUsageAndThatOfItsRunningJobs() {
    startAttachedWorker(config().withMetricsTtl(Duration.ofMillis(200)));

    server.runJob(Jobs.shell("e-busy", "sleep", "20"));

    var heartbeat =
        await()
            .until(
                () ->
                    server.heartbeats().reversed().stream()
                        .filter(h -> h.getJobUsageCount() > 0)
                        .findFirst(),
                java.util.Optional::isPresent)
            .get();
    assertThat(heartbeat.getUsage().hasCollectedAt()).isTrue();
    assertThat(heartbeat.getUsage().getMemoryBytes()).isPositive();
    assertThat(heartbeat.getUsage().getPids()).isPositive();
    assertThat(heartbeat.getHostUsage().getMemoryTotalBytes()).isPositive();
    assertThat(heartbeat.getHostUsage().getCpuCount()).isPositive();
    var job = heartbeat.getJobUsage(0);
    assertThat(job.getExecutionId()).isEqualTo("e-busy");
    assertThat(job.getJobId()).isEqualTo("job-e-busy");
    assertThat(job.getUsage().getPids()).isEqualTo(1);
    assertThat(job.getUsage().getMemoryBytes()).isPositive();
  }

  @Test
  void echoHelloIsReportedInOrderAndItsResultIsSentAgainUntilAcknowledged() {
    server.ackResults = false;
    startAttachedWorker(config());

    server.runJob(Jobs.shell("e-hello", "echo", "hello"));

    JobResult result = awaitResult("e-hello");
    assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_EXITED);
    assertThat(result.getExitCode()).isZero();
    assertThat(result.getLogLines()).isEqualTo(1);
    assertThat(result.getJobId()).isEqualTo("job-e-hello");
    assertThat(result.hasStartedAt()).isTrue();
    assertThat(result.hasFinishedAt()).isTrue();
    List<LogLine> lines = server.lines("e-hello");
    assertThat(lines).hasSize(1);
    assertThat(lines.getFirst().getSequence()).isZero();
    assertThat(lines.getFirst().getStream()).isEqualTo(LogStream.LOG_STREAM_STDOUT);
    assertThat(lines.getFirst().getData().toStringUtf8()).isEqualTo("hello");
    assertThat(lines.getFirst().hasAt()).isTrue();
    assertThat(server.messagesOnStream(1).stream().map(WorkerAgentTest::kind).toList())
        .containsSubsequence("attach", "ack RUN_JOB", "job_started", "log_batch", "job_result");

    server.dropStream();

    await().untilAsserted(() -> assertThat(server.results("e-hello")).hasSize(2));
    assertThat(server.messagesOnStream(2).stream().filter(WorkerMessage::hasJobResult))
        .singleElement()
        .extracting(WorkerMessage::getJobResult)
        .isEqualTo(result);

    server.ackResult("e-hello");
    server.dropStream();

    awaitAttachedStreams(3);
    await()
        .untilAsserted(
            () ->
                assertThat(server.messagesOnStream(3).stream().filter(WorkerMessage::hasHeartbeat))
                    .isNotEmpty());
    assertThat(server.results("e-hello")).hasSize(2);
    assertThat(server.registrations).hasSize(1);
  }

  @Test
  void aJobsStdoutAndStderrArriveEachInOrderWithTheirStreamAndItsExitCode() {
    startAttachedWorker(config());

    server.runJob(
        Jobs.shell(
            "e-mixed",
            "sh",
            "-c",
            "for i in 1 2 3; do echo out$i; echo err$i >&2; done; exit 3"));

    JobResult result = awaitResult("e-mixed");
    assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_EXITED);
    assertThat(result.getExitCode()).isEqualTo(3);
    assertThat(result.getLogLines()).isEqualTo(6);
    assertThat(server.stdout("e-mixed")).containsExactly("out1", "out2", "out3");
    assertThat(server.text("e-mixed", LogStream.LOG_STREAM_STDERR))
        .containsExactly("err1", "err2", "err3");
    List<LogLine> lines = server.lines("e-mixed");
    assertThat(lines.stream().map(LogLine::getSequence))
        .containsExactlyInAnyOrder(0L, 1L, 2L, 3L, 4L, 5L);
    for (LogStream stream : List.of(LogStream.LOG_STREAM_STDOUT, LogStream.LOG_STREAM_STDERR)) {
      assertThat(lines.stream().filter(l -> l.getStream() == stream).map(LogLine::getSequence))
          .isSorted();
    }
  }

  @Test
  void aScriptRunsWithTheJobsEnvironmentAddedToTheWorkers() {
    startAttachedWorker(config());

    server.runJob(
        Jobs.script("e-script", "bash", "echo from-script; echo $FOO\n", Map.of("FOO", "bar")));

    assertThat(awaitResult("e-script").getExitCode()).isZero();
    assertThat(server.stdout("e-script")).containsExactly("from-script", "bar");
  }

  @Test
  void aScriptIsWrittenToAPrivateFileThatIsDeletedAfterTheJob() {
    startAttachedWorker(config());

    server.runJob(
        Jobs.script(
            "e-private",
            "sh",
            "stat -c %a \"$0\"; stat -c %a \"$(dirname \"$0\")\"; echo \"$0\"",
            Map.of()));

    assertThat(awaitResult("e-private").getExitCode()).isZero();
    List<String> out = server.stdout("e-private");
    assertThat(out).hasSize(3);
    // Read-only to the job's own uid, in the job's own directory, which the sandbox shows as /job.
    assertThat(out.subList(0, 2)).containsExactly("400", "700");
    assertThat(out.get(2)).isEqualTo("/job/script");
    Path jobs = Path.of(config().tempRoot() + "-jobs");
    await().untilAsserted(() -> assertThat(jobs).isEmptyDirectory());
  }

  @Test
  void theWorkersTokenIsNotInTheEnvironmentOfJobs() {
    startAttachedWorker(config());

    server.runJob(Jobs.shell("e-token", "sh", "-c", "env; echo done"));

    awaitResult("e-token");
    assertThat(server.stdout("e-token")).contains("done").noneMatch(line -> line.contains(config().token()));
  }

  @Test
  void aProgramThatDoesNotExistFailsToStart() {
    startAttachedWorker(config());

    server.runJob(Jobs.shell("e-missing", "hodei-no-such-program"));

    JobResult result = awaitResult("e-missing");
    assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_FAILED_TO_START);
    assertThat(result.getErrorMessage()).contains("hodei-no-such-program");
    assertThat(server.starts("e-missing")).isEmpty();
    assertThat(server.lines("e-missing")).isEmpty();
  }

  @Test
  void aJobPastItsTimeoutIsKilledWithEverythingItStarted() {
    startAttachedWorker(config());

    server.runJob(
        Jobs.withTimeout(
            Jobs.shell("e-timeout", "sh", "-c", "sleep 30 & sleep 30"), Duration.ofMillis(500)));

    List<ProcessHandle> sleeps =
        await().until(() -> sleepingDescendants("30"), found -> found.size() == 2);
    JobResult result = awaitResult("e-timeout");
    assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_TIMED_OUT);
    assertThat(result.getErrorMessage()).contains("timed out");
    await().untilAsserted(() -> assertThat(sleeps).noneMatch(WorkerAgentTest::running));
  }

  @Test
  void aCancelledJobIsKilledAndReportedCancelled() {
    startAttachedWorker(config());

    server.runJob(Jobs.shell("e-cancel", "sleep", "31"));
    await().untilAsserted(() -> assertThat(server.starts("e-cancel")).hasSize(1));
    await()
        .untilAsserted(
            () ->
                assertThat(server.heartbeats())
                    .anySatisfy(
                        h -> {
                          assertThat(h.getStatus()).isEqualTo(WorkerStatus.WORKER_STATUS_BUSY);
                          assertThat(h.getRunningExecutionIdsList()).containsExactly("e-cancel");
                        }));
    List<ProcessHandle> sleeps = await().until(() -> sleepingDescendants("31"), found -> !found.isEmpty());
    assertThat(sleeps).hasSize(1);

    server.cancelJob("e-cancel");

    JobResult result = awaitResult("e-cancel");
    assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_CANCELLED);
    assertThat(result.getErrorMessage()).isEqualTo("cancelled by the test");
    await().untilAsserted(() -> assertThat(sleeps).noneMatch(WorkerAgentTest::running));
  }

  @Test
  void twentyThousandLinesArriveCompleteAndInOrderInFewMessages() {
    startAttachedWorker(config());

    server.runJob(Jobs.shell("e-many", "seq", "1", "20000"));

    JobResult result = awaitResult("e-many");
    assertThat(result.getLogLines()).isEqualTo(20_000);
    List<LogLine> lines = server.lines("e-many");
    assertThat(lines.stream().map(LogLine::getSequence))
        .containsExactlyElementsOf(LongStream.range(0, 20_000).boxed().toList());
    assertThat(lines.stream().map(l -> l.getData().toStringUtf8()))
        .containsExactlyElementsOf(
            IntStream.rangeClosed(1, 20_000).mapToObj(Integer::toString).toList());
    long batches = server.logBatchCount("e-many");
    System.out.printf(
        "20000 lines arrived in %d log_batch messages: %.1f messages per 1000 lines%n",
        batches, batches / 20.0);
    assertThat(batches).isLessThan(200);
  }

  @Test
  void aSlowServerMakesTheJobWaitOnItsPipeWithoutLosingALine() {
    server.close();
    server = FakeControlPlane.startWithFlowControlWindow(64 * 1024);
    server.delayPerMessage = Duration.ofMillis(5); // 200 batches: the server needs at least 1 s
    // 1000-line batches: the per-message delay must add up to more than the job's own time.
    startAttachedWorker(
        config()
            .withOutboxCapacity(8)
            .withLogBatching(new WorkerConfig.LogBatching(64 * 1024, 64 * 1024, 1000, Duration.ofMillis(50))));

    // seq alone takes a few milliseconds; the job reports how long writing its output took.
    server.runJob(
        Jobs.shell(
            "e-flood",
            "sh",
            "-c",
            "start=$(date +%s%N); seq 1 200000;"
                + " echo elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 )) >&2"));

    JobResult result =
        await()
            .atMost(Duration.ofSeconds(25))
            .until(() -> server.results("e-flood"), r -> !r.isEmpty())
            .getFirst();
    assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_EXITED);
    assertThat(result.getLogLines()).isEqualTo(200_001);
    List<LogLine> lines = server.lines("e-flood");
    assertThat(lines.stream().map(LogLine::getSequence))
        .containsExactlyElementsOf(LongStream.range(0, 200_001).boxed().toList());
    List<String> stdout = server.stdout("e-flood");
    assertThat(stdout)
        .containsExactlyElementsOf(
            IntStream.rangeClosed(1, 200_000).mapToObj(Integer::toString).toList());
    String elapsed = server.text("e-flood", LogStream.LOG_STREAM_STDERR).getFirst();
    System.out.printf(
        "200000 lines through a slow server: %d batches, the job's output took %s,"
            + " the sender waited %d times for the stream%n",
        server.logBatchCount("e-flood"), elapsed, agent.outboxNotReadyWaits());
    assertThat(Long.parseLong(elapsed.substring("elapsed_ms=".length())))
        .as("the job was held back on its pipe")
        .isGreaterThan(500);
    assertThat(agent.outboxNotReadyWaits()).isPositive();
  }

  @Test
  void severalJobsRunAtTheSameTime() {
    startAttachedWorker(config());

    for (int i = 1; i <= 3; i++) {
      server.runJob(Jobs.shell("e-par-" + i, "sh", "-c", "echo start; sleep 0.5; echo end"));
    }

    for (int i = 1; i <= 3; i++) {
      JobResult result = awaitResult("e-par-" + i);
      assertThat(result.getExitCode()).isZero();
      assertThat(server.stdout("e-par-" + i)).containsExactly("start", "end");
    }
    List<String> kinds = server.messages().stream().map(WorkerAgentTest::kind).toList();
    assertThat(kinds.lastIndexOf("job_started")).isLessThan(kinds.indexOf("job_result"));
  }

  @Test
  void aBadTokenMakesTheWorkerExitWithAnErrorWithoutRetrying() {
    WorkerConfig config =
        WorkerConfig.of("otp-wrong", server.address(), "worker-bad")
            .withTempRoot(dir.resolve("bad-tmp"));

    int exitCode = WorkerMain.run(config);

    assertThat(exitCode).isNotZero().isEqualTo(WorkerExit.AUTHENTICATION_FAILED.code());
    assertThat(server.registrations).hasSize(1);
    assertThat(server.attachCount()).isZero();
  }

  @Test
  void registrationIsRetriedWhileTheServerIsUnavailable() {
    server.unavailableRegistrations.set(2);

    startAttachedWorker(config());

    assertThat(server.registrations).hasSize(3);
  }

  @Test
  void aWorkerWhoseSessionIsRefusedOnReattachExitsWithAnError() {
    startAttachedWorker(config());
    server.forgetSessions();

    server.dropStream();

    await().until(() -> agent.exitStatus().isPresent());
    assertThat(agent.exitStatus()).contains(WorkerExit.AUTHENTICATION_FAILED);
  }

  @Test
  void aStreamTheServerEndsRightAfterAttachingDoesNotResetTheBackoff() throws InterruptedException {
    startAttachedWorker(
        config().withReconnect(new WorkerConfig.Reconnect(Duration.ofMillis(50), Duration.ofMillis(1600), Duration.ofSeconds(60))));
    int before = server.attachCount();

    server.dropAfterAttach = true;
    server.dropStream();
    Thread.sleep(4000);

    // Backing off 50 ms, 100, 200 ... 1.6 s: a handful of attaches in 4 s. Reset at each attach,
    // it would be one every 50 ms or so.
    assertThat(server.attachCount() - before).isBetween(3, 12);
  }

  @Test
  void aWorkerGivesUpWhenTheServerStaysAwayPastTheReconnectDeadline()
      throws InterruptedException {
    startAttachedWorker(
        config()
            .withReconnect(
                new WorkerConfig.Reconnect(
                    Duration.ofMillis(50), Duration.ofMillis(200), Duration.ofSeconds(1))));

    server.close();

    await().until(() -> agent.exitStatus().isPresent());
    assertThat(agent.exitStatus()).contains(WorkerExit.SERVER_UNREACHABLE);
    assertThat(agent.exitStatus().get().code()).isNotZero();
  }

  @Test
  void shutdownCancelsRunningJobsReportsThemAndUnregisters() throws InterruptedException {
    startAttachedWorker(config());
    server.runJob(Jobs.shell("e-long", "sleep", "32"));
    await().untilAsserted(() -> assertThat(server.starts("e-long")).hasSize(1));
    List<ProcessHandle> sleeps = await().until(() -> sleepingDescendants("32"), found -> !found.isEmpty());

    agent.shutdown();

    assertThat(agent.awaitTermination(Duration.ofSeconds(10))).isTrue();
    assertThat(agent.exitStatus()).contains(WorkerExit.COMPLETED);
    JobResult result = server.results("e-long").getFirst();
    assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_CANCELLED);
    assertThat(result.getErrorMessage()).isEqualTo("worker shutting down");
    assertThat(server.unregistrations).singleElement().satisfies(u -> {
      assertThat(u.getWorkerId()).isEqualTo("worker-1");
      assertThat(u.getSessionId()).isEqualTo("session-1");
    });
    assertThat(sleeps).isNotEmpty().noneMatch(WorkerAgentTest::running);
  }

  @Test
  void leftoversInTheTempRootAreDeletedOnStart() throws IOException {
    Path leftover = config().tempRoot().resolve("job-old/script");
    Files.createDirectories(leftover.getParent());
    Files.writeString(leftover, "echo stale");

    startAttachedWorker(config());

    assertThat(leftover.getParent()).doesNotExist();
    assertThat(config().tempRoot()).isDirectory();
  }
}
