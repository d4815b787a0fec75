package io.hodei.store;

import static io.hodei.store.TestJobs.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.hodei.core.job.JobId;
import io.hodei.core.log.LogLine;
import io.hodei.core.log.LogStore;
import io.hodei.core.log.LogStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What every {@link LogStore} must do. Subclasses supply an empty, migrated database per test. */
abstract class LogStoreContract {
  private static final JobId JOB = new JobId("job-1");

  private Database database;
  private LogStore store;

  /** A migrated database with no logs in it; closed after the test. */
  protected abstract Database openEmptyDatabase();

  @BeforeEach
  void openStore() {
    database = openEmptyDatabase();
    store = Stores.open(database).logs();
  }

  @AfterEach
  void closeDatabase() {
    database.close();
  }

  @Test
  void appendedLinesAreReadBackByteForByte() {
    byte[] notUtf8 = {(byte) 0xff, (byte) 0xfe, 0, 1, 2, (byte) 0x80, '\r'};
    Instant withNanos = Instant.parse("2030-01-01T00:00:00.123456789Z");
    List<LogLine> lines =
        List.of(
            line(LogStream.STDOUT, "hello", T0),
            line(LogStream.STDERR, new byte[0], T0.plusMillis(1)),
            line(LogStream.STDOUT, notUtf8, withNanos),
            line(LogStream.STDERR, "ünïcødé ✓", T0.plusSeconds(2)),
            line(LogStream.STDOUT, "", T0.plusSeconds(3)));

    long next = store.append(JOB, 1, lines);

    assertThat(next).isEqualTo(5);
    List<LogLine> read = store.read(JOB, 0, 100);
    assertThat(read).hasSize(5);
    for (int i = 0; i < lines.size(); i++) {
      assertSameLine(read.get(i), lines.get(i), i, 1);
    }
  }

  @Test
  void sequencesContinueAcrossAppendsAndIgnoreTheLinesOwnNumbers() {
    assertThat(store.append(JOB, 1, List.of(numbered(42, "a"), numbered(42, "b")))).isEqualTo(2);
    assertThat(store.append(JOB, 1, List.of(numbered(7, "c")))).isEqualTo(3);
    assertThat(store.append(JOB, 2, List.of(numbered(0, "d"), numbered(0, "e")))).isEqualTo(5);

    List<LogLine> read = store.read(JOB, 0, 100);

    assertThat(read).extracting(LogLine::sequence).containsExactly(0L, 1L, 2L, 3L, 4L);
    assertThat(read).extracting(LogLine::attempt).containsExactly(1, 1, 1, 2, 2);
    assertThat(texts(read)).containsExactly("a", "b", "c", "d", "e");
  }

  @Test
  void readingFromTheMiddleCrossesChunkBoundaries() {
    appendBatches(JOB, 4, 3, 5, 1, 6);

    assertThat(texts(store.read(JOB, 5, 100))).containsExactlyElementsOf(range(5, 19));
    assertThat(texts(store.read(JOB, 6, 4)))
        .containsExactly("line-6", "line-7", "line-8", "line-9");
    assertThat(texts(store.read(JOB, 3, 2))).containsExactly("line-3", "line-4");
    assertThat(texts(store.read(JOB, 12, 1))).containsExactly("line-12");
    assertThat(store.read(JOB, 13, 100))
        .extracting(LogLine::sequence)
        .containsExactly(13L, 14L, 15L, 16L, 17L, 18L);
  }

  @Test
  void readHonoursMaxLines() {
    appendBatches(JOB, 10, 10);

    assertThat(store.read(JOB, 0, 7))
        .extracting(LogLine::sequence)
        .containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L);
    assertThat(store.read(JOB, 8, 5))
        .extracting(LogLine::sequence)
        .containsExactly(8L, 9L, 10L, 11L, 12L);
    assertThat(store.read(JOB, 0, 0)).isEmpty();
  }

  @Test
  void readingAtOrPastTheEndGivesNothing() {
    appendBatches(JOB, 3, 2);

    assertThat(store.read(JOB, 5, 10)).isEmpty();
    assertThat(store.read(JOB, 500, 10)).isEmpty();
    assertThat(store.read(new JobId("silent"), 0, 10)).isEmpty();
  }

  @Test
  void aNegativeStartReadsFromTheBeginning() {
    appendBatches(JOB, 2);

    assertThat(store.read(JOB, -5, 10)).extracting(LogLine::sequence).containsExactly(0L, 1L);
  }

  @Test
  void anEmptyAppendStoresNothingAndReportsTheNextSequence() {
    assertThat(store.append(JOB, 1, List.of())).isZero();
    appendBatches(JOB, 3);

    assertThat(store.append(JOB, 1, List.of())).isEqualTo(3);
    assertThat(store.read(JOB, 0, 10)).hasSize(3);
  }

  @Test
  void logsOfDifferentJobsAreNumberedIndependently() {
    JobId other = new JobId("job-2");
    appendBatches(JOB, 3);
    store.append(other, 1, List.of(numbered(0, "other")));

    assertThat(store.read(other, 0, 10))
        .singleElement()
        .satisfies(
            l -> {
              assertThat(l.sequence()).isZero();
              assertThat(new String(l.data(), StandardCharsets.UTF_8)).isEqualTo("other");
            });
    assertThat(store.read(JOB, 0, 10)).hasSize(3);
  }

  @Test
  void concurrentAppendsToDifferentJobsAllLand() throws Exception {
    int jobs = 8;
    int batches = 25;
    int linesPerBatch = 4;
    CountDownLatch start = new CountDownLatch(1);
    try (ExecutorService pool = Executors.newFixedThreadPool(jobs)) {
      List<Future<?>> done = new ArrayList<>();
      for (int j = 0; j < jobs; j++) {
        JobId job = new JobId("concurrent-" + j);
        done.add(
            pool.submit(
                () -> {
                  start.await();
                  for (int b = 0; b < batches; b++) {
                    List<LogLine> batch = new ArrayList<>();
                    for (int l = 0; l < linesPerBatch; l++) {
                      batch.add(numbered(0, job + ":" + (b * linesPerBatch + l)));
                    }
                    long next = store.append(job, 1, batch);
                    assertThat(next).isEqualTo((long) (b + 1) * linesPerBatch);
                  }
                  return null;
                }));
      }
      start.countDown();
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    }
    for (int j = 0; j < jobs; j++) {
      JobId job = new JobId("concurrent-" + j);
      List<LogLine> read = store.read(job, 0, 10_000);
      assertThat(read).hasSize(batches * linesPerBatch);
      assertThat(texts(read))
          .containsExactlyElementsOf(
              IntStream.range(0, batches * linesPerBatch).mapToObj(i -> job + ":" + i).toList());
    }
  }

  @Test
  void racingAppendsToOneJobTakeTurnsAndLoseNothing() throws Exception {
    int writers = 4;
    int batches = 25;
    CountDownLatch start = new CountDownLatch(1);
    try (ExecutorService pool = Executors.newFixedThreadPool(writers)) {
      List<Future<?>> done = new ArrayList<>();
      for (int w = 0; w < writers; w++) {
        String writer = "writer-" + w;
        done.add(
            pool.submit(
                () -> {
                  start.await();
                  for (int b = 0; b < batches; b++) {
                    store.append(
                        JOB,
                        1,
                        List.of(
                            numbered(0, writer + ":" + b + ":a"),
                            numbered(0, writer + ":" + b + ":b")));
                  }
                  return null;
                }));
      }
      start.countDown();
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    }

    List<LogLine> read = store.read(JOB, 0, 10_000);
    assertThat(read)
        .extracting(LogLine::sequence)
        .containsExactlyElementsOf(
            IntStream.range(0, writers * batches * 2).mapToObj(i -> (long) i).toList());
    List<String> texts = texts(read);
    for (int i = 0; i < texts.size(); i += 2) {
      // A batch is stored whole: its two lines stay adjacent.
      assertThat(texts.get(i + 1)).isEqualTo(texts.get(i).replace(":a", ":b"));
    }
    assertThat(texts).doesNotHaveDuplicates();
  }

  // ---- helpers ---------------------------------------------------------------------------

  /** Appends batches of the given sizes; line {@code n} reads {@code line-n}. */
  private void appendBatches(JobId job, int... sizes) {
    int n = 0;
    for (int size : sizes) {
      List<LogLine> batch = new ArrayList<>();
      for (int i = 0; i < size; i++) {
        batch.add(numbered(0, "line-" + n++));
      }
      store.append(job, 1, batch);
    }
  }

  private static List<String> range(int from, int to) {
    return IntStream.range(from, to).mapToObj(i -> "line-" + i).toList();
  }

  private static LogLine numbered(long sequence, String text) {
    return new LogLine(sequence, 0, LogStream.STDOUT, text.getBytes(StandardCharsets.UTF_8), T0);
  }

  private static LogLine line(LogStream stream, String text, Instant at) {
    return line(stream, text.getBytes(StandardCharsets.UTF_8), at);
  }

  private static LogLine line(LogStream stream, byte[] data, Instant at) {
    return new LogLine(-1, 0, stream, data, at);
  }

  private static List<String> texts(List<LogLine> lines) {
    return lines.stream().map(l -> new String(l.data(), StandardCharsets.UTF_8)).toList();
  }

  private static void assertSameLine(LogLine actual, LogLine expected, long sequence, int attempt) {
    assertThat(actual.sequence()).isEqualTo(sequence);
    assertThat(actual.attempt()).isEqualTo(attempt);
    assertThat(actual.stream()).isEqualTo(expected.stream());
    assertThat(actual.data()).isEqualTo(expected.data());
    assertThat(actual.at()).isEqualTo(expected.at());
  }
}
