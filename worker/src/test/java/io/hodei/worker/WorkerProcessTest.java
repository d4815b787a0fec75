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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The worker as its own JVM, started by {@code WorkerMain.main} from the environment. */
@Timeout(value = 40, unit = TimeUnit.SECONDS)
class WorkerProcessTest {
  @TempDir Path dir;
  private final FakeControlPlane server = FakeControlPlane.start();

  @AfterEach
  void stopServer() {
    server.close();
  }

  @Test
  void sigtermMakesAWorkerProcessCancelItsJobsUnregisterAndExit() throws Exception {
    Process worker = startWorkerProcess();
    try {
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> server.messages().stream().anyMatch(WorkerMessage::hasAttach));
      server.runJob(Jobs.shell("e-sigterm", "sleep", "33"));
      await().atMost(Duration.ofSeconds(10)).until(() -> !server.starts("e-sigterm").isEmpty());
      List<ProcessHandle> jobProcesses =
          worker.descendants().filter(p -> WorkerAgentTest.hasArguments(p, "33")).toList();
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
  void aWorkerProcessWithoutItsEnvironmentExitsWithAnError() throws Exception {
    ProcessBuilder builder = javaCommand();
    builder.environment().remove(WorkerConfig.ENV_TOKEN);
    builder.environment().remove(WorkerConfig.ENV_SERVER_ADDRESS);
    Process worker = builder.start();

    assertThat(worker.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(worker.exitValue()).isEqualTo(WorkerExit.FAILED.code());
    assertThat(log()).contains("HODEI_TOKEN", "HODEI_SERVER_ADDRESS");
  }

  private Process startWorkerProcess() throws IOException {
    ProcessBuilder builder = javaCommand();
    builder.environment().put(WorkerConfig.ENV_TOKEN, GOOD_TOKEN);
    builder.environment().put(WorkerConfig.ENV_SERVER_ADDRESS, server.address());
    return builder.start();
  }

  private ProcessBuilder javaCommand() {
    ProcessBuilder builder =
        new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-XX:+UseSerialGC",
            "-Xshare:auto",
            "-Djava.io.tmpdir=" + dir,
            "-cp",
            System.getProperty("java.class.path"),
            WorkerMain.class.getName());
    builder.environment().put(WorkerConfig.ENV_WORKER_ID, "worker-proc");
    builder.redirectErrorStream(true);
    builder.redirectOutput(dir.resolve("worker.log").toFile());
    return builder;
  }

  private String log() throws IOException {
    return Files.readString(dir.resolve("worker.log"));
  }
}
