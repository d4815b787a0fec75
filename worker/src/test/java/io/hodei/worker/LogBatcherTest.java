package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hodei.api.v1.LogBatch;
import io.hodei.api.v1.LogLine;
import io.hodei.api.v1.LogStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class LogBatcherTest {
  private final List<LogBatch> sent = new CopyOnWriteArrayList<>();

  private LogBatcher batcher(int maxBytes, int maxLines, Duration delay) {
    return LogBatcher.start(
        "job-1",
        "exec-1",
        new WorkerConfig.LogBatching(1024, maxBytes, maxLines, delay),
        sent::add);
  }

  private static void append(LogBatcher batcher, LogStream stream, String text)
      throws InterruptedException {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    batcher.append(stream, bytes, 0, bytes.length);
  }

  private List<String> sentText() {
    return sent.stream()
        .flatMap(b -> b.getLinesList().stream())
        .map(l -> l.getData().toStringUtf8())
        .toList();
  }

  @Test
  void linesAreNumberedInAppendOrderAcrossStreams() throws InterruptedException {
    LogBatcher batcher = batcher(1 << 16, 1000, Duration.ofSeconds(10));

    append(batcher, LogStream.LOG_STREAM_STDOUT, "a");
    append(batcher, LogStream.LOG_STREAM_STDERR, "b");
    append(batcher, LogStream.LOG_STREAM_STDOUT, "c");
    long count = batcher.close();

    assertThat(count).isEqualTo(3);
    assertThat(sent).singleElement().satisfies(batch -> {
      assertThat(batch.getJobId()).isEqualTo("job-1");
      assertThat(batch.getExecutionId()).isEqualTo("exec-1");
      assertThat(batch.getLinesList().stream().map(LogLine::getSequence))
          .containsExactly(0L, 1L, 2L);
      assertThat(batch.getLinesList().stream().map(LogLine::getStream))
          .containsExactly(
              LogStream.LOG_STREAM_STDOUT,
              LogStream.LOG_STREAM_STDERR,
              LogStream.LOG_STREAM_STDOUT);
      assertThat(batch.getLinesList()).allSatisfy(l -> assertThat(l.hasAt()).isTrue());
    });
  }

  @Test
  void aBatchGoesOutWhenItHoldsTheMaximumNumberOfLines() throws InterruptedException {
    LogBatcher batcher = batcher(1 << 16, 2, Duration.ofSeconds(10));

    append(batcher, LogStream.LOG_STREAM_STDOUT, "1");
    assertThat(sent).isEmpty();
    append(batcher, LogStream.LOG_STREAM_STDOUT, "2");
    assertThat(sent).hasSize(1);
    append(batcher, LogStream.LOG_STREAM_STDOUT, "3");
    batcher.close();

    assertThat(sent).extracting(LogBatch::getLinesCount).containsExactly(2, 1);
    assertThat(sentText()).containsExactly("1", "2", "3");
  }

  @Test
  void aBatchGoesOutWhenItHoldsTheMaximumNumberOfBytes() throws InterruptedException {
    LogBatcher batcher = batcher(10, 1000, Duration.ofSeconds(10));

    append(batcher, LogStream.LOG_STREAM_STDOUT, "12345");
    append(batcher, LogStream.LOG_STREAM_STDOUT, "1234");
    assertThat(sent).isEmpty();
    append(batcher, LogStream.LOG_STREAM_STDOUT, "1");
    assertThat(sent).hasSize(1);
    batcher.close();

    assertThat(sent).hasSize(1);
  }

  @Test
  void aBatchGoesOutShortlyAfterItsFirstLineWhenNoMoreCome() throws InterruptedException {
    LogBatcher batcher = batcher(1 << 16, 1000, Duration.ofMillis(50));

    long start = System.nanoTime();
    append(batcher, LogStream.LOG_STREAM_STDOUT, "lonely");

    await().atMost(Duration.ofSeconds(2)).until(() -> sent.size() == 1);
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .isGreaterThanOrEqualTo(Duration.ofMillis(45));
    append(batcher, LogStream.LOG_STREAM_STDOUT, "again");
    await().atMost(Duration.ofSeconds(2)).until(() -> sent.size() == 2);
    assertThat(batcher.close()).isEqualTo(2);
    assertThat(sentText()).containsExactly("lonely", "again");
  }

  @Test
  void linesAppendedAfterCloseAreDiscarded() throws InterruptedException {
    LogBatcher batcher = batcher(1 << 16, 1000, Duration.ofSeconds(10));
    append(batcher, LogStream.LOG_STREAM_STDOUT, "kept");
    batcher.close();

    append(batcher, LogStream.LOG_STREAM_STDOUT, "late");

    assertThat(sentText()).containsExactly("kept");
    assertThat(batcher.linesDiscarded()).isEqualTo(1);
  }

  @Test
  void aFullSinkBlocksTheProducersInsteadOfBufferingOrDropping() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    LogBatcher batcher =
        LogBatcher.start(
            "job-1",
            "exec-1",
            new WorkerConfig.LogBatching(1024, 1 << 16, 1, Duration.ofSeconds(10)),
            batch -> {
              release.await();
              sent.add(batch);
            });
    Thread producer =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    append(batcher, LogStream.LOG_STREAM_STDOUT, "one");
                    append(batcher, LogStream.LOG_STREAM_STDERR, "two");
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                });

    await().until(() -> producer.getState() == Thread.State.WAITING);
    assertThat(sent).isEmpty();
    release.countDown();
    producer.join();
    batcher.close();

    assertThat(sentText()).containsExactly("one", "two");
  }
}
