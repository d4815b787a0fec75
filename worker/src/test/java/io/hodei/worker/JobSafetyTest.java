package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hodei.api.v1.JobOutcome;
import io.hodei.api.v1.JobResult;
import io.hodei.api.v1.LogLine;
import io.hodei.api.v1.LogPolicy;
import io.hodei.api.v1.LogStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Scripts' safety header, secrets on stdin, and the drop log policy, on the real agent and real processes. */
class JobSafetyTest extends AgentTestSupport {

  @Test
  void aBashScriptStopsAtItsFirstFailingCommand() {
    startAttachedWorker(config());
    server.runJob(Jobs.script("e-strict", "bash", "echo before\nfalse\necho not-reached\n", Map.of()));

    JobResult result = awaitResult("e-strict");
    assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_EXITED);
    assertThat(result.getExitCode()).isEqualTo(1);
    assertThat(server.stdout("e-strict")).containsExactly("before");
  }

  @Test
  void unsetVariablesAndFailingPipelineStagesStopABashScriptToo() {
    startAttachedWorker(config());
    server.runJob(Jobs.script("e-unset", "bash", "echo \"$NOT_SET\"\necho not-reached\n", Map.of()));
    server.runJob(Jobs.script("e-pipe", "bash", "false | cat\necho not-reached\n", Map.of()));

    assertThat(awaitResult("e-unset").getExitCode()).isNotZero();
    assertThat(server.stdout("e-unset")).isEmpty();
    assertThat(awaitResult("e-pipe").getExitCode()).isEqualTo(1);
    assertThat(server.stdout("e-pipe")).isEmpty();
  }

  @Test
  void theHeaderCanBeTurnedOffAndShKeepsItsOwnOptions() {
    startAttachedWorker(config());
    var relaxed = Jobs.script("e-relaxed", "bash", "false\necho reached\n", Map.of());
    relaxed =
        relaxed.toBuilder()
            .setCommand(
                relaxed.getCommand().toBuilder()
                    .setScript(relaxed.getCommand().getScript().toBuilder().setNoSafetyHeader(true)))
            .build();
    server.runJob(relaxed);
    server.runJob(Jobs.script("e-sh", "sh", "false\necho not-reached\n", Map.of()));

    JobResult result = awaitResult("e-relaxed");
    assertThat(result.getExitCode()).isZero();
    assertThat(server.stdout("e-relaxed")).containsExactly("reached");
    assertThat(awaitResult("e-sh").getExitCode()).isEqualTo(1);
    assertThat(server.stdout("e-sh")).isEmpty();
  }

  @Test
  void secretsArriveAsOneJsonObjectOnStdinAndNowhereElse() throws Exception {
    String value = "s3cr3t-" + java.util.UUID.randomUUID();
    startAttachedWorker(config());
    var job =
        Jobs.shell("e-secret", "sh", "-c", "read -r json; echo \"${#json}\"; exec sleep 4.25")
            .toBuilder()
            .putSecrets("API_TOKEN", value)
            .putSecrets("OTHER", "second value \"quoted\"")
            .build();
    server.runJob(job);

    await().until(() -> !sleepingDescendants("4.25").isEmpty());
    ProcessHandle sleeper = sleepingDescendants("4.25").getFirst();
    String expectedJson = "{\"API_TOKEN\":\"" + value + "\",\"OTHER\":\"second value \\\"quoted\\\"\"}";
    await().until(() -> !server.stdout("e-secret").isEmpty());
    assertThat(server.stdout("e-secret")).containsExactly(Integer.toString(expectedJson.length()));

    // Not in the environment or the arguments of the job's processes or of this JVM (the worker).
    for (ProcessHandle p : Stream.concat(Stream.of(ProcessHandle.current(), sleeper), sleeper.parent().stream()).toList()) {
      for (String file : List.of("environ", "cmdline")) {
        byte[] content = Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()), file));
        assertThat(new String(content, StandardCharsets.ISO_8859_1)).as("/proc/%d/%s", p.pid(), file).doesNotContain(value);
      }
    }
    // Not on disk: nothing the worker wrote holds it.
    assertThat(filesContaining(dir, value)).isEmpty();

    assertThat(awaitResult("e-secret").getExitCode()).isZero();
  }

  @Test
  void aJobThatDoesNotReadStdinIsNotHeldUpByItsSecrets() {
    startAttachedWorker(config());
    String big = "x".repeat(60_000);
    var job = Jobs.shell("e-unread", "echo", "done").toBuilder();
    for (int i = 0; i < 20; i++) {
      job.putSecrets("BIG_" + i, big); // more than a pipe holds
    }
    server.runJob(job.build());

    JobResult result = awaitResult("e-unread");
    assertThat(result.getExitCode()).isZero();
    assertThat(server.stdout("e-unread")).containsExactly("done");
  }

  @Test
  void underTheDropPolicyAJobIsNeverHeldBackAndTheDroppedLinesAreCounted() {
    server.ackLogs = false;
    int capacity = 4;
    startAttachedWorker(
        config()
            .withOutboxCapacity(capacity)
            .withLogBatching(new WorkerConfig.LogBatching(64 * 1024, 64 * 1024, 100, Duration.ofMillis(50))));
    int total = 50_000;
    var job = Jobs.shell("e-drop", "seq", "1", Integer.toString(total)).toBuilder().setLogPolicy(LogPolicy.LOG_POLICY_DROP).build();

    server.runJob(job);
    await("the job runs to its end although nothing is acknowledged")
        .until(() -> ProcessHandle.current().descendants().noneMatch(p -> hasArguments(p, "1", Integer.toString(total)) && running(p)));
    server.resumeLogAcks();

    JobResult result = awaitResult("e-drop");
    assertThat(result.getExitCode()).isZero();
    assertThat(result.getDroppedLogLines()).isPositive();
    assertThat(result.getLogLines() + result.getDroppedLogLines()).isEqualTo(total);
    await().until(() -> server.uniqueLines("e-drop").size() == result.getLogLines());
    assertThat(server.uniqueLines("e-drop").stream().map(LogLine::getSequence))
        .as("the lines sent are numbered without gaps")
        .containsExactlyElementsOf(LongStream.range(0, result.getLogLines()).boxed().toList());
    assertThat(server.text("e-drop", LogStream.LOG_STREAM_STDOUT).getFirst()).isEqualTo("1");
  }

  @Test
  void aStreamLostWhileDrainingIsAttachedAgainSoTheResultStillArrives() throws Exception {
    startAttachedWorker(config().withDrainTimeout(Duration.ofSeconds(10)));
    server.runJob(Jobs.shell("e-drain", "sleep", "1.5"));
    await().until(() -> !server.starts("e-drain").isEmpty());

    agent.shutdown();
    await("a draining heartbeat")
        .until(() -> server.heartbeats().stream().anyMatch(h -> h.getStatus() == io.hodei.api.v1.WorkerStatus.WORKER_STATUS_DRAINING));
    int attachedBefore = server.attachCount();
    server.dropStream();

    assertThat(agent.awaitTermination(Duration.ofSeconds(30))).isTrue();
    assertThat(server.results("e-drain")).singleElement().satisfies(r -> {
      assertThat(r.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_EXITED);
      assertThat(r.getExitCode()).isZero();
    });
    assertThat(server.attachCount()).as("attached again to deliver it").isGreaterThan(attachedBefore);
  }

  @Test
  void shutdownLetsRunningJobsFinishWithinTheDrainTimeoutThenCancelsTheRest() throws Exception {
    startAttachedWorker(config().withDrainTimeout(Duration.ofSeconds(3)));
    server.runJob(Jobs.shell("e-short", "sleep", "0.5"));
    server.runJob(Jobs.shell("e-long", "sleep", "30.5"));
    await().until(() -> !server.starts("e-short").isEmpty() && !server.starts("e-long").isEmpty());

    agent.shutdown();
    await("a draining heartbeat")
        .until(() -> server.heartbeats().stream().anyMatch(h -> h.getStatus() == io.hodei.api.v1.WorkerStatus.WORKER_STATUS_DRAINING));
    server.runJob(Jobs.shell("e-late", "echo", "too late"));

    assertThat(agent.awaitTermination(Duration.ofSeconds(15))).isTrue();
    assertThat(server.results("e-short")).singleElement().satisfies(r -> {
      assertThat(r.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_EXITED);
      assertThat(r.getExitCode()).isZero();
    });
    assertThat(server.results("e-long")).singleElement().satisfies(r -> {
      assertThat(r.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_CANCELLED);
      assertThat(r.getErrorMessage()).isEqualTo("worker shutting down: still running after the drain timeout of 3s");
    });
    assertThat(server.starts("e-late")).isEmpty();
    // Nothing of it ran: the control plane puts it back in the queue rather than cancel it.
    assertThat(server.results("e-late")).singleElement().satisfies(r -> {
      assertThat(r.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_NOT_STARTED);
      assertThat(r.hasStartedAt()).isFalse();
    });
    assertThat(server.unregistrations).hasSize(1);
    assertThat(sleepingDescendants("30.5")).isEmpty();
  }

  private static List<Path> filesContaining(Path root, String text) throws IOException {
    byte[] needle = text.getBytes(StandardCharsets.UTF_8);
    try (Stream<Path> files = Files.walk(root)) {
      return files.filter(Files::isRegularFile).filter(f -> contains(f, needle)).toList();
    }
  }

  private static boolean contains(Path file, byte[] needle) {
    try {
      byte[] content = Files.readAllBytes(file);
      outer:
      for (int i = 0; i + needle.length <= content.length; i++) {
        for (int j = 0; j < needle.length; j++) {
          if (content[i + j] != needle[j]) {
            continue outer;
          }
        }
        return true;
      }
      return false;
    } catch (IOException e) {
      return false;
    }
  }
}
