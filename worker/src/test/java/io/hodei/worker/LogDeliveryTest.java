package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hodei.api.v1.JobOutcome;
import io.hodei.api.v1.JobResult;
import io.hodei.api.v1.LogLine;
import io.hodei.api.v1.WorkerHeartbeat;
import io.hodei.api.v1.WorkerMessage;
import io.hodei.api.v1.WorkerStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Log batches are kept until the server acknowledges them: a broken stream loses no line, the
 * unacknowledged batches are sent again on the next stream ahead of the execution's result, and
 * acknowledgements held back stall the job on its pipe instead of filling memory.
 */
@Timeout(value = 40, unit = TimeUnit.SECONDS)
class LogDeliveryTest extends AgentTestSupport {

  /** The jobs here wait for a file of the test's: without a sandbox, so that they can see it. */
  @Override
  Map<String, String> launcherEnvironment() {
    return Map.of(JobSandbox.ENV_ISOLATION, "off");
  }

  @Test
  void whatTheServerDidNotAcknowledgeIsSentAgainOnTheNextStreamLogsBeforeTheResult()
      throws IOException {
    startAttachedWorker(config());
    Path go = dir.resolve("go");
    server.runJob(
        Jobs.shell(
            "e-replay",
            "sh",
            "-c",
            "seq 1 1000; while [ ! -e '" + go + "' ]; do sleep 0.02; done; seq 1001 2000"));
    // The first thousand lines arrive and are acknowledged.
    await().until(() -> server.storedBelow("e-replay") == 1000);
    await().until(() -> agent.unacknowledgedLogBatches() == 0);

    server.ackLogs = false;
    server.ackResults = false;
    Files.createFile(go);
    JobResult result = awaitResult("e-replay");
    assertThat(result.getLogLines()).isEqualTo(2000);
    assertThat(agent.unacknowledgedLogBatches()).isPositive();
    server.dropStream();

    awaitAttachedStreams(2);
    await().until(() -> !resultsOnStream(2, "e-replay").isEmpty());
    List<WorkerMessage> replayed = messagesOnStream(2, "e-replay");
    assertThat(replayed.getLast().hasJobResult()).as("the result comes last").isTrue();
    assertThat(replayed.getLast().getJobResult()).isEqualTo(result);
    assertThat(replayed.stream().filter(WorkerMessage::hasJobResult)).hasSize(1);
    assertThat(linesOf(replayed).stream().map(LogLine::getSequence))
        .as("exactly the unacknowledged lines, in order, with their own sequence numbers")
        .containsExactlyElementsOf(LongStream.range(1000, 2000).boxed().toList());
    assertThat(server.uniqueLines("e-replay").stream().map(l -> l.getData().toStringUtf8()))
        .containsExactlyElementsOf(
            IntStream.rangeClosed(1, 2000).mapToObj(Integer::toString).toList());

    // Until its result is acknowledged, the execution is still reported, by a READY worker.
    await()
        .untilAsserted(
            () ->
                assertThat(heartbeatsOnStream(2))
                    .anySatisfy(
                        h -> {
                          assertThat(h.getStatus()).isEqualTo(WorkerStatus.WORKER_STATUS_READY);
                          assertThat(h.getRunningExecutionIdsList()).containsExactly("e-replay");
                        }));

    // Acknowledging the result drops the rest: the log batches the server did not acknowledge.
    server.ackResult("e-replay");
    await()
        .until(
            () ->
                agent.unacknowledgedLogBatches() == 0
                    && agent.resultsAwaitingAcknowledgement().isEmpty());
    await()
        .untilAsserted(
            () ->
                assertThat(heartbeatsOnStream(2).getLast().getRunningExecutionIdsList())
                    .isEmpty());
    server.dropStream();
    awaitAttachedStreams(3);
    await().until(() -> !heartbeatsOnStream(3).isEmpty());
    assertThat(messagesOnStream(3, "e-replay")).isEmpty();
  }

  @Test
  void noLineIsLostWhenTheStreamBreaksRepeatedlyWhileAJobFloodsItsOutput() {
    server.delayPerMessage = Duration.ofMillis(1);
    startAttachedWorker(
        config()
            .withLogBatching(
                new WorkerConfig.LogBatching(64 * 1024, 64 * 1024, 200, Duration.ofMillis(50))));
    int total = 300_000;

    server.runJob(Jobs.shell("e-drops", "seq", "1", Integer.toString(total)));
    for (int stream = 1; stream <= 3; stream++) {
      long reached = stream * 40_000L;
      await()
          .atMost(Duration.ofSeconds(15))
          .until(() -> server.storedBelow("e-drops") >= reached);
      server.dropStream();
      awaitAttachedStreams(stream + 1);
    }

    JobResult result =
        await()
            .atMost(Duration.ofSeconds(25))
            .until(() -> server.results("e-drops"), r -> !r.isEmpty())
            .getFirst();
    assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_EXITED);
    assertThat(result.getLogLines()).isEqualTo(total);
    List<LogLine> lines = server.uniqueLines("e-drops");
    // Plain list equality: AssertJ's element-wise comparison is slow on 300 000 elements.
    assertThat(lines.stream().map(LogLine::getSequence).toList())
        .isEqualTo(LongStream.range(0, total).boxed().toList());
    assertThat(lines.stream().map(l -> l.getData().toStringUtf8()).toList())
        .isEqualTo(IntStream.rangeClosed(1, total).mapToObj(Integer::toString).toList());
    assertThat(sequencesBeforeFirstResult("e-drops"))
        .as("every line reached the server before the result did")
        .hasSize(total);
    System.out.printf(
        "%d lines through 3 broken streams: %d lines received (%d of them twice)%n",
        total, server.lines("e-drops").size(), server.lines("e-drops").size() - total);
  }

  @Test
  void withAcknowledgementsHeldBackAJobWaitsOnItsPipeAndGoesOnOnceTheyResume() {
    server.ackLogs = false;
    int capacity = 4;
    int linesPerBatch = 100;
    startAttachedWorker(
        config()
            .withOutboxCapacity(capacity)
            .withLogBatching(
                new WorkerConfig.LogBatching(
                    64 * 1024, 64 * 1024, linesPerBatch, Duration.ofMillis(50))));
    int total = 50_000;

    server.runJob(Jobs.shell("e-held", "seq", "1", Integer.toString(total)));
    await().until(() -> server.logBatchCount("e-held") == capacity);
    await()
        .during(Duration.ofMillis(500))
        .atMost(Duration.ofSeconds(3))
        .until(() -> server.logBatchCount("e-held") == capacity);
    assertThat(server.results("e-held")).isEmpty();
    assertThat(agent.unacknowledgedLogBatches()).isEqualTo(capacity);
    assertThat(server.lines("e-held")).hasSizeLessThanOrEqualTo(capacity * linesPerBatch);
    assertThat(
            ProcessHandle.current()
                .descendants()
                .filter(p -> hasArguments(p, "1", Integer.toString(total)))
                .filter(AgentTestSupport::running))
        .as("the job is still there, held back on its pipe")
        .hasSize(1);

    server.resumeLogAcks();

    JobResult result = awaitResult("e-held");
    assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_EXITED);
    assertThat(result.getExitCode()).isZero();
    assertThat(result.getLogLines()).isEqualTo(total);
    assertThat(server.uniqueLines("e-held").stream().map(LogLine::getSequence))
        .containsExactlyElementsOf(LongStream.range(0, total).boxed().toList());
    assertThat(server.lines("e-held")).as("nothing was sent twice").hasSize(total);
  }

  // ---- helpers ----

  /** The execution's log batches and results on one stream, in the order they arrived. */
  private List<WorkerMessage> messagesOnStream(int stream, String executionId) {
    return server.messagesOnStream(stream).stream()
        .filter(
            m ->
                (m.hasLogBatch() && m.getLogBatch().getExecutionId().equals(executionId))
                    || (m.hasJobResult() && m.getJobResult().getExecutionId().equals(executionId)))
        .toList();
  }

  private List<WorkerMessage> resultsOnStream(int stream, String executionId) {
    return messagesOnStream(stream, executionId).stream()
        .filter(WorkerMessage::hasJobResult)
        .toList();
  }

  private List<WorkerHeartbeat> heartbeatsOnStream(int stream) {
    return server.messagesOnStream(stream).stream()
        .filter(WorkerMessage::hasHeartbeat)
        .map(WorkerMessage::getHeartbeat)
        .toList();
  }

  private static List<LogLine> linesOf(List<WorkerMessage> messages) {
    return messages.stream()
        .filter(WorkerMessage::hasLogBatch)
        .flatMap(m -> m.getLogBatch().getLinesList().stream())
        .toList();
  }

  /** The distinct sequence numbers the server had received when the first result arrived. */
  private Set<Long> sequencesBeforeFirstResult(String executionId) {
    Set<Long> sequences = new HashSet<>();
    for (WorkerMessage message : server.messages()) {
      if (message.hasJobResult() && message.getJobResult().getExecutionId().equals(executionId)) {
        break;
      }
      if (message.hasLogBatch() && message.getLogBatch().getExecutionId().equals(executionId)) {
        message.getLogBatch().getLinesList().forEach(l -> sequences.add(l.getSequence()));
      }
    }
    return sequences;
  }
}
