package io.hodei.worker;

import static io.hodei.worker.FakeControlPlane.GOOD_TOKEN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hodei.api.v1.JobOutcome;
import io.hodei.api.v1.JobResult;
import io.hodei.api.v1.WorkerMessage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The worker as its own JVM, started by {@code WorkerMain.main} from the environment. */
@Timeout(value = 40, unit = TimeUnit.SECONDS)
class WorkerProcessTest {
  @TempDir Path dir;
  private FakeControlPlane server = FakeControlPlane.start();

  @AfterEach
  void stopServer() {
    server.close();
  }

  @Test
  void sigtermMakesAWorkerProcessCancelItsJobsUnregisterAndExit() throws Exception {
    Process worker = startWorkerProcess(Map.of(WorkerConfig.ENV_DRAIN_TIMEOUT, "0s"));
    try {
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> server.messages().stream().anyMatch(WorkerMessage::hasAttach));
      server.runJob(Jobs.shell("e-sigterm", "sleep", "33"));
      await().atMost(Duration.ofSeconds(10)).until(() -> !server.starts("e-sigterm").isEmpty());
      List<ProcessHandle> jobProcesses =
          await().until(
              () -> worker.descendants().filter(p -> WorkerAgentTest.hasArguments(p, "33")).toList(),
              found -> !found.isEmpty());
      assertThat(jobProcesses).hasSize(1);

      worker.destroy(); // SIGTERM

      assertThat(worker.waitFor(20, TimeUnit.SECONDS)).as(log()).isTrue();
      assertThat(worker.exitValue()).isEqualTo(143); // 128 + SIGTERM: the JVM's exit on a signal
      JobResult result = server.results("e-sigterm").getFirst();
      assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_CANCELLED);
      assertThat(result.getErrorMessage()).isEqualTo("worker shutting down");
      assertThat(server.unregistrations)
          .singleElement()
          .satisfies(u -> assertThat(u.getWorkerId()).isEqualTo("worker-proc"));
      assertThat(jobProcesses).noneMatch(ProcessHandle::isAlive);
    } finally {
      worker.destroyForcibly();
    }
  }

  @Test
  void sigtermLetsARunningJobFinishWithinTheDrainTimeout() throws Exception {
    Process worker = startWorkerProcess(Map.of(WorkerConfig.ENV_DRAIN_TIMEOUT, "20s"));
    try {
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> server.messages().stream().anyMatch(WorkerMessage::hasAttach));
      server.runJob(Jobs.shell("e-drain", "sh", "-c", "sleep 1.5; echo finished"));
      await().atMost(Duration.ofSeconds(10)).until(() -> !server.starts("e-drain").isEmpty());

      worker.destroy(); // SIGTERM

      assertThat(worker.waitFor(25, TimeUnit.SECONDS)).as(log()).isTrue();
      JobResult result = server.results("e-drain").getFirst();
      assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_EXITED);
      assertThat(result.getExitCode()).isZero();
      assertThat(server.stdout("e-drain")).containsExactly("finished");
      assertThat(server.unregistrations).hasSize(1);
    } finally {
      worker.destroyForcibly();
    }
  }

  /**
   * Two million lines through a server that reads slowly (a small flow-control window), into a
   * worker JVM with a 48 MiB heap: held in memory, the lines alone would need several times that.
   * They must all arrive, in order, once each.
   */
  @Test
  @Timeout(value = 180, unit = TimeUnit.SECONDS)
  void twoMillionLinesThroughASlowServerArriveCompleteInOrderInBoundedMemory() throws Exception {
    server.close();
    server = FakeControlPlane.startWithFlowControlWindow(16 * 1024);
    int total = 2_000_000;
    Process worker = startWorkerProcess(Map.of(), "-Xmx48m");
    try {
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> server.messages().stream().anyMatch(WorkerMessage::hasAttach));
      long start = System.nanoTime();
      server.runJob(Jobs.shell("e-flood", "seq", "1", Integer.toString(total)));

      await().atMost(Duration.ofSeconds(150)).until(() -> !server.results("e-flood").isEmpty());
      long millis = (System.nanoTime() - start) / 1_000_000;
      JobResult result = server.results("e-flood").getFirst();
      assertThat(result.getExitCode()).as(log()).isZero();
      assertThat(result.getLogLines()).isEqualTo(total);
      assertThat(worker.isAlive()).as("the worker did not run out of memory: %s", log()).isTrue();
      var lines = server.uniqueLines("e-flood");
      assertThat(lines).hasSize(total);
      for (int i = 0; i < total; i++) {
        var line = lines.get(i);
        if (line.getSequence() != i || !line.getData().toStringUtf8().equals(Integer.toString(i + 1))) {
          throw new AssertionError("line " + i + " is " + line.getSequence() + ": " + line.getData().toStringUtf8());
        }
      }
      long batches = server.logBatchCount("e-flood");
      System.out.printf(
          "BENCH log flood: %d lines in %d ms (%.0f lines/s), %d log_batch messages = %.2f messages per 1,000 lines%n",
          total, millis, total * 1000.0 / millis, batches, batches * 1000.0 / total);
    } finally {
      worker.destroyForcibly();
    }
  }

  @Test
  void aWorkerProcessWithoutItsEnvironmentExitsWithAnError() throws Exception {
    ProcessBuilder builder = javaCommand();
    builder.environment().remove(WorkerConfig.ENV_TOKEN);
    builder.environment().remove(WorkerConfig.ENV_SERVER_ADDRESS);
    Process worker = builder.start();

    assertThat(worker.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(worker.exitValue()).isEqualTo(WorkerExit.FAILED.code());
    assertThat(log()).contains("HODEI_TOKEN", "HODEI_SERVER_ADDRESS");
  }

  private Process startWorkerProcess(Map<String, String> env, String... jvmOptions) throws IOException {
    ProcessBuilder builder = javaCommand(jvmOptions);
    builder.environment().putAll(env);
    builder.environment().put(WorkerConfig.ENV_TOKEN, GOOD_TOKEN);
    builder.environment().put(WorkerConfig.ENV_SERVER_ADDRESS, server.address());
    return builder.start();
  }

  private ProcessBuilder javaCommand(String... jvmOptions) {
    List<String> command = new java.util.ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-XX:+UseSerialGC");
    command.add("-Xshare:auto");
    command.addAll(List.of(jvmOptions));
    command.add("-Djava.io.tmpdir=" + dir);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(WorkerMain.class.getName());
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().put(WorkerConfig.ENV_WORKER_ID, "worker-proc");
    builder.redirectErrorStream(true);
    builder.redirectOutput(dir.resolve("worker.log").toFile());
    return builder;
  }

  private String log() throws IOException {
    return Files.readString(dir.resolve("worker.log"));
  }
}
