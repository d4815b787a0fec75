package io.hodei.worker;

import static io.hodei.worker.FakeControlPlane.GOOD_TOKEN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hodei.api.v1.JobResult;
import io.hodei.api.v1.WorkerMessage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the tests of the real worker agent share: a {@link FakeControlPlane} per test, the agent
 * under test (shut down after each test), its configuration, and process helpers.
 */
abstract class AgentTestSupport {
  @TempDir Path dir;
  FakeControlPlane server;
  WorkerAgent agent;

  @BeforeAll
  static void pollOften() {
    Awaitility.setDefaultPollInterval(Duration.ofMillis(20));
    Awaitility.setDefaultTimeout(Duration.ofSeconds(10));
  }

  @AfterAll
  static void resetAwaitility() {
    Awaitility.reset();
  }

  @BeforeEach
  void startServer() {
    server = FakeControlPlane.start();
  }

  @AfterEach
  void stopEverything() throws InterruptedException {
    if (agent != null) {
      agent.shutdown();
      assertThat(agent.awaitTermination(Duration.ofSeconds(15))).isTrue();
    }
    server.close();
  }

  WorkerConfig config() {
    return WorkerConfig.of(GOOD_TOKEN, server.address(), "worker-1")
        .withName("test worker")
        .withLabels(Map.of("zone", "test"))
        .withTempRoot(dir.resolve("worker-tmp"))
        .withKillGracePeriod(Duration.ofMillis(500))
        .withDrainTimeout(Duration.ZERO)
        .withReconnect(
            new WorkerConfig.Reconnect(
                Duration.ofMillis(50), Duration.ofMillis(500), Duration.ofSeconds(20)));
  }

  /** Added to every started worker's environment: how it starts jobs. Default: the worker's default. */
  Map<String, String> launcherEnvironment() {
    return Map.of();
  }

  /** Starts the worker with this JVM's environment as its own. */
  void startWorker(WorkerConfig config) {
    startWorker(config, System.getenv());
  }

  /** Starts the worker with {@code environment} as its own environment. */
  void startWorker(WorkerConfig config, Map<String, String> environment) {
    Map<String, String> workerEnvironment = new HashMap<>(environment);
    workerEnvironment.putAll(launcherEnvironment());
    agent = new WorkerAgent(config, workerEnvironment);
    agent.start();
  }

  void startAttachedWorker(WorkerConfig config) {
    startWorker(config);
    awaitAttachedStreams(1);
  }

  void awaitAttachedStreams(int count) {
    await()
        .untilAsserted(
            () ->
                assertThat(server.messages().stream().filter(WorkerMessage::hasAttach))
                    .hasSize(count));
  }

  JobResult awaitResult(String executionId) {
    await().untilAsserted(() -> assertThat(server.results(executionId)).isNotEmpty());
    return server.results(executionId).getFirst();
  }


  static String kind(WorkerMessage message) {
    return switch (message.getPayloadCase()) {
      case ATTACH -> "attach";
      case HEARTBEAT -> "heartbeat";
      case LOG_BATCH -> "log_batch";
      case JOB_RESULT -> "job_result";
      case JOB_STARTED -> "job_started";
      case ACK -> "ack " + message.getAck().getKind().name().replace("ACK_KIND_", "");
      case PAYLOAD_NOT_SET -> "empty";
    };
  }

  /** {@code sleep <seconds>} processes started, directly or not, by this JVM. */
  static List<ProcessHandle> sleepingDescendants(String seconds) {
    return ProcessHandle.current()
        .descendants()
        .filter(p -> p.info().command().map(c -> c.endsWith("/sleep")).orElse(false))
        .filter(p -> hasArguments(p, seconds))
        .filter(AgentTestSupport::running)
        .toList();
  }

  /**
   * Running {@code sleep SECONDS} processes of the machine, any of the given durations, in any pid
   * namespace and of any parent (a job's leftovers need not be the test's descendants).
   */
  static List<ProcessHandle> anywhere(String... seconds) {
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().command().map(c -> c.endsWith("/sleep")).orElse(false))
        .filter(p -> List.of(seconds).stream().anyMatch(s -> hasArguments(p, s)))
        .filter(AgentTestSupport::running)
        .toList();
  }

  static boolean hasArguments(ProcessHandle process, String... arguments) {
    return process.info().arguments().map(a -> List.of(a).equals(List.of(arguments))).orElse(false);
  }

  /** Alive and not a zombie (an orphan waiting for init to reap it has ended all the same). */
  static boolean running(ProcessHandle process) {
    if (!process.isAlive()) {
      return false;
    }
    try {
      Path file = Path.of("/proc", Long.toString(process.pid()), "stat");
      String stat = Files.readString(file, StandardCharsets.ISO_8859_1);
      return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
    } catch (NoSuchFileException e) {
      return false;
    } catch (IOException e) {
      return process.isAlive();
    }
  }
}
