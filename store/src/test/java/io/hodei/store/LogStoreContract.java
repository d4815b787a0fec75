package io.hodei.store;

import static io.hodei.store.TestJobs.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.hodei.core.job.Job;
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
import java.util.stream.LongStream;
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
            line(0, LogStream.STDOUT, "hello", T0),
            line(1, LogStream.STDERR, new byte[0], T0.plusMillis(1)),
            line(2, LogStream.STDOUT, notUtf8, withNanos),
            line(3, LogStream.STDERR, "ünïcødé ✓", T0.plusSeconds(2)),
            line(4, LogStream.STDOUT, "", T0.plusSeconds(3)));

    long next = store.append(JOB, 1, lines);

    assertThat(next).isEqualTo(5);
    List<LogLine> read = store.read(JOB, 0, 100);
    assertThat(read).hasSize(5);
    for (int i = 0; i < lines.size(); i++) {
      assertSameLine(read.get(i), lines.get(i), i, 1);
    }
  }

  @Test
  void jobSequencesContinueAcrossAppendsAndAttempts() {
    assertThat(store.append(JOB, 1, List.of(worker(0, "a"), worker(1, "b")))).isEqualTo(2);
    assertThat(store.append(JOB, 1, List.of(worker(2, "c")))).isEqualTo(3);
    assertThat(store.append(JOB, 2, List.of(worker(0, "d"), worker(1, "e")))).isEqualTo(2);

    List<LogLine> read = store.read(JOB, 0, 100);

    assertThat(read).extracting(LogLine::sequence).containsExactly(0L, 1L, 2L, 3L, 4L);
    assertThat(read).extracting(LogLine::attempt).containsExactly(1, 1, 1, 2, 2);
    assertThat(texts(read)).containsExactly("a", "b", "c", "d", "e");
  }

  // ---- de-duplication by the worker's sequence -------------------------------------------

  @Test
  void aResentBatchStoresOnlyItsNewLines() {
    assertThat(store.append(JOB, 1, workerLines(0, 10))).isEqualTo(10);

    long next = store.append(JOB, 1, workerLines(5, 10));

    assertThat(next).isEqualTo(15);
    List<LogLine> read = store.read(JOB, 0, 100);
    assertThat(read)
        .extracting(LogLine::sequence)
        .containsExactlyElementsOf(LongStream.range(0, 15).boxed().toList());
    assertThat(texts(read))
        .doesNotHaveDuplicates()
        .containsExactlyElementsOf(IntStream.range(0, 15).mapToObj(i -> "w" + i).toList());
  }

  @Test
  void aBatchEntirelyBelowTheExpectedSequenceStoresNothing() {
    store.append(JOB, 1, workerLines(0, 5));
    long bytes = store.byteCount(JOB);

    assertThat(store.append(JOB, 1, workerLines(1, 3))).isEqualTo(5);
    assertThat(store.append(JOB, 1, workerLines(0, 5))).isEqualTo(5);

    assertThat(texts(store.read(JOB, 0, 100))).containsExactly("w0", "w1", "w2", "w3", "w4");
    assertThat(store.byteCount(JOB)).isEqualTo(bytes);
  }

  @Test
  void attemptsNumberedEachFromZeroAreAllKeptInOrder() {
    assertThat(store.append(JOB, 1, workerLines(0, 3, "first-"))).isEqualTo(3);
    assertThat(store.append(JOB, 2, workerLines(0, 4, "second-"))).isEqualTo(4);

    List<LogLine> read = store.read(JOB, 0, 100);

    assertThat(read)
        .extracting(LogLine::sequence, LogLine::attempt)
        .containsExactly(
            tuple(0L, 1),
            tuple(1L, 1),
            tuple(2L, 1),
            tuple(3L, 2),
            tuple(4L, 2),
            tuple(5L, 2),
            tuple(6L, 2));
    assertThat(texts(read))
        .containsExactly(
            "first-0", "first-1", "first-2", "second-0", "second-1", "second-2", "second-3");
  }

  @Test
  void eachAttemptHasItsOwnExpectedSequence() {
    store.append(JOB, 1, workerLines(0, 3, "first-"));
    store.append(JOB, 2, workerLines(0, 2, "second-"));

    assertThat(store.append(JOB, 1, List.of())).isEqualTo(3);
    assertThat(store.append(JOB, 2, List.of())).isEqualTo(2);
    assertThat(store.append(JOB, 3, List.of())).isZero();
    assertThat(store.append(JOB, 1, workerLines(0, 3, "first-"))).isEqualTo(3);
    assertThat(store.append(JOB, 2, workerLines(1, 2, "second-"))).isEqualTo(3);

    assertThat(texts(store.read(JOB, 0, 100)))
        .containsExactly("first-0", "first-1", "first-2", "second-0", "second-1", "second-2");
  }

  @Test
  void byteCountSumsTheBytesOfTheStoredLines() {
    assertThat(store.byteCount(JOB)).isZero();
    store.append(
        JOB,
        1,
        List.of(
            line(0, LogStream.STDOUT, "hello", T0),
            line(1, LogStream.STDERR, new byte[0], T0),
            line(2, LogStream.STDOUT, new byte[] {(byte) 0xff, 0, '\n'}, T0)));
    store.append(JOB, 2, List.of(line(0, LogStream.STDOUT, "ñ✓", T0)));
    long expected = 5 + 0 + 3 + "ñ✓".getBytes(StandardCharsets.UTF_8).length;

    assertThat(store.byteCount(JOB)).isEqualTo(expected);

    store.append(JOB, 1, List.of(line(2, LogStream.STDOUT, "resent", T0)));
    assertThat(store.byteCount(JOB)).isEqualTo(expected);
    store.append(new JobId("job-2"), 1, workerLines(0, 2));
    assertThat(store.byteCount(JOB)).isEqualTo(expected);
    assertThat(store.byteCount(new JobId("job-2"))).isEqualTo(4);
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
    store.append(other, 1, List.of(worker(0, "other")));

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
                      int n = b * linesPerBatch + l;
                      batch.add(worker(n, job + ":" + n));
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
  void racingAppendsOfDifferentAttemptsOfOneJobTakeTurnsAndLoseNothing() throws Exception {
    int writers = 4;
    int batches = 25;
    CountDownLatch start = new CountDownLatch(1);
    try (ExecutorService pool = Executors.newFixedThreadPool(writers)) {
      List<Future<?>> done = new ArrayList<>();
      for (int w = 0; w < writers; w++) {
        int attempt = w + 1;
        done.add(
            pool.submit(
                () -> {
                  start.await();
                  for (int b = 0; b < batches; b++) {
                    List<LogLine> batch =
                        List.of(
                            worker(2L * b, attempt + ":" + b + ":a"),
                            worker(2L * b + 1, attempt + ":" + b + ":b"));
                    assertThat(store.append(JOB, attempt, batch)).isEqualTo(2L * b + 2);
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
        .containsExactlyElementsOf(LongStream.range(0, writers * batches * 2).boxed().toList());
    List<String> texts = texts(read);
    for (int i = 0; i < texts.size(); i += 2) {
      // A batch is stored whole: its two lines stay adjacent.
      assertThat(texts.get(i + 1)).isEqualTo(texts.get(i).replace(":a", ":b"));
    }
    assertThat(texts).doesNotHaveDuplicates();
    for (int attempt = 1; attempt <= writers; attempt++) {
      int a = attempt;
      // Each attempt's lines keep their order and carry their attempt number.
      List<String> expected = new ArrayList<>();
      for (int b = 0; b < batches; b++) {
        expected.add(a + ":" + b + ":a");
        expected.add(a + ":" + b + ":b");
      }
      assertThat(texts(read.stream().filter(l -> l.attempt() == a).toList()))
          .containsExactlyElementsOf(expected);
    }
  }

  @Test
  void racingResendsOfTheSameLinesStoreEachLineOnce() throws Exception {
    int senders = 4;
    int lines = 60;
    CountDownLatch start = new CountDownLatch(1);
    try (ExecutorService pool = Executors.newFixedThreadPool(senders)) {
      List<Future<?>> done = new ArrayList<>();
      for (int s = 0; s < senders; s++) {
        done.add(
            pool.submit(
                () -> {
                  start.await();
                  for (int first = 0; first < lines; first += 3) {
                    store.append(JOB, 1, workerLines(first, 3));
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
        .containsExactlyElementsOf(LongStream.range(0, lines).boxed().toList());
    assertThat(texts(read))
        .containsExactlyElementsOf(IntStream.range(0, lines).mapToObj(i -> "w" + i).toList());
    assertThat(store.append(JOB, 1, List.of())).isEqualTo(lines);
  }

  // ---- helpers ---------------------------------------------------------------------------

  /** Appends batches of the given sizes; line {@code n} reads {@code line-n}. */
  private void appendBatches(JobId job, int... sizes) {
    int n = 0;
    for (int size : sizes) {
      List<LogLine> batch = new ArrayList<>();
      for (int i = 0; i < size; i++) {
        batch.add(worker(n, "line-" + n));
        n++;
      }
      store.append(job, 1, batch);
    }
  }

  private static List<String> range(int from, int to) {
    return IntStream.range(from, to).mapToObj(i -> "line-" + i).toList();
  }

  /**
   * A stdout line as a worker hands it over: {@code sequence} is its number within the attempt. The
   * attempt field is left 0: the store takes the attempt from the append.
   */
  private static LogLine worker(long sequence, String text) {
    return line(sequence, LogStream.STDOUT, text, T0);
  }

  /** Worker lines {@code first .. first + count - 1}, line {@code n} reading {@code wn}. */
  private static List<LogLine> workerLines(long first, int count) {
    return workerLines(first, count, "w");
  }

  /** Worker lines {@code first .. first + count - 1}, line {@code n} reading prefix + n. */
  private static List<LogLine> workerLines(long first, int count, String prefix) {
    return LongStream.range(first, first + count).mapToObj(n -> worker(n, prefix + n)).toList();
  }

  @Test
  void eachOwnersStoredBytesAreCountedOnceEvenWhenAWorkerReSendsLines() {
    var jobs = Stores.open(database).jobs();
    Job a = jobs.insert(Job.queued(new JobId("a"), TestJobs.named("a"), "alice", T0), "queued");
    Job b = jobs.insert(Job.queued(new JobId("b"), TestJobs.named("b"), "alice", T0), "queued");
    Job c = jobs.insert(Job.queued(new JobId("c"), TestJobs.named("c"), "bob", T0), "queued");

    store.append(a.id(), 1, List.of(line(0, LogStream.STDOUT, "12345", T0), line(1, LogStream.STDERR, "678", T0)));
    store.append(b.id(), 1, List.of(line(0, LogStream.STDOUT, "1234567890", T0)));
    store.append(c.id(), 1, List.of(line(0, LogStream.STDOUT, "xy", T0)));
    // After a reconnect the worker re-sends lines 0 and 1 with a new one.
    store.append(a.id(), 1, List.of(line(0, LogStream.STDOUT, "12345", T0), line(1, LogStream.STDERR, "678", T0), line(2, LogStream.STDOUT, "9", T0)));

    assertThat(store.bytesOwnedBy("alice")).isEqualTo(8 + 1 + 10);
    assertThat(store.bytesOwnedBy("bob")).isEqualTo(2);
    assertThat(store.bytesOwnedBy("carol")).isZero();
  }

  @Test
  void retentionDeletesTheLogsOfJobsFinishedInTheWindowAndNoOthers() {
    var jobs = Stores.open(database).jobs();
    Job old = finished(jobs, "old", "alice", T0.plusSeconds(5));
    Job recent = finished(jobs, "recent", "alice", T0.plusSeconds(500));
    Job running = jobs.insert(Job.queued(new JobId("running"), TestJobs.named("running"), "alice", T0), "queued");
    for (Job job : List.of(old, recent, running)) {
      store.append(job.id(), 1, List.of(line(0, LogStream.STDOUT, "0123456789", T0)));
    }

    var deleted = store.deleteLogsOfJobsFinished(Instant.EPOCH, T0.plusSeconds(100));

    assertThat(deleted).isEqualTo(new LogStore.Deleted(1, 10));
    assertThat(store.read(old.id(), 0, 10)).isEmpty();
    assertThat(store.byteCount(old.id())).isZero();
    assertThat(texts(store.read(recent.id(), 0, 10))).containsExactly("0123456789");
    assertThat(texts(store.read(running.id(), 0, 10))).containsExactly("0123456789");
    assertThat(store.bytesOwnedBy("alice")).isEqualTo(20);
    assertThat(store.deleteLogsOfJobsFinished(Instant.EPOCH, T0.plusSeconds(100))).isEqualTo(new LogStore.Deleted(0, 0));
    // A window that starts after a job's end leaves it alone.
    assertThat(store.deleteLogsOfJobsFinished(T0.plusSeconds(501), T0.plusSeconds(1000))).isEqualTo(new LogStore.Deleted(0, 0));
    assertThat(store.deleteLogsOfJobsFinished(T0.plusSeconds(100), T0.plusSeconds(1000))).isEqualTo(new LogStore.Deleted(1, 10));
    assertThat(store.bytesOwnedBy("alice")).isEqualTo(10);
  }

  private static Job finished(io.hodei.core.job.JobStore jobs, String id, String owner, Instant at) {
    var execution = io.hodei.core.job.ExecutionId.random();
    Job job = jobs.insert(Job.queued(new JobId(id), TestJobs.named(id), owner, T0), "queued");
    job = jobs.update(job.assignTo(new io.hodei.core.worker.WorkerId("w-1"), execution, T0));
    return jobs.update(job.finish(execution, new io.hodei.core.job.Outcome.Exited(0), T0, at));
  }

  private static LogLine line(long sequence, LogStream stream, String text, Instant at) {
    return line(sequence, stream, text.getBytes(StandardCharsets.UTF_8), at);
  }

  private static LogLine line(long sequence, LogStream stream, byte[] data, Instant at) {
    return new LogLine(sequence, 0, stream, data, at);
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
