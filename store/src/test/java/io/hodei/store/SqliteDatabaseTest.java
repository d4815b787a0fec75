package io.hodei.store;

import static io.hodei.store.TestJobs.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import com.google.protobuf.util.JsonFormat;
import io.hodei.core.Storage;
import io.hodei.core.error.UnavailableException;
import io.hodei.core.job.Attempt;
import io.hodei.core.job.ExecutionId;
import io.hodei.core.job.Job;
import io.hodei.core.job.JobEvent;
import io.hodei.core.job.JobId;
import io.hodei.core.job.Resources;
import io.hodei.core.log.LogLine;
import io.hodei.core.log.LogStream;
import io.hodei.core.worker.WorkerId;
import io.hodei.core.worker.WorkerInfo;
import io.hodei.core.worker.WorkerRegistration;
import io.hodei.wire.WireMapping;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteDataSource;

class SqliteDatabaseTest {
  @TempDir Path dataDir;

  @Test
  void opensAFileDatabaseInANewDirectory() {
    Path nested = dataDir.resolve("a/b");

    try (Database db = Database.sqlite(nested)) {
      assertThat(db.dialect()).isEqualTo(Dialect.SQLITE);
    }

    assertThat(nested.resolve("hodei.db")).isRegularFile();
  }

  @Test
  void reopeningMigratesNothingAndKeepsTheData() {
    Job job;
    try (Database db = Database.sqlite(dataDir)) {
      job = Stores.open(db).jobs().insert(TestJobs.queued(TestJobs.everyFieldSet(), T0), "queued");
    }

    try (Database db = Database.sqlite(dataDir)) {
      assertThat(Stores.open(db).jobs().find(job.id())).contains(job);
      assertThat(appliedMigrations(db)).containsExactly("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13");
    }
  }

  @Test
  void aVersion1DatabaseIsUpgradedAndKeepsItsJobsLogsAndWorkers() throws Exception {
    ExecutionId execution = new ExecutionId("e-old");
    Job running =
        TestJobs.queued("old-job", TestJobs.everyFieldSet(), T0)
            .assignTo(new WorkerId("w-old"), execution, T0.plusSeconds(1))
            .start(execution, T0.plusSeconds(2))
            .withVersion(3);
    List<LogLine> firstAttempt = List.of(oldLine("one"), oldLine("two"));
    List<LogLine> secondAttempt = List.of(oldLine("three"), oldLine("four"), oldLine("fünf"));
    List<LogLine> secondAttemptMore = List.of(oldLine("six"));
    WorkerInfo info =
        new WorkerInfo(
            new WorkerId("w-old"),
            "old worker",
            "0.0.9",
            "old.example",
            "10.0.0.9",
            Resources.NONE,
            Set.of("shell"),
            Map.of("zone", "a"),
            List.of());
    SQLiteDataSource v1 = new SQLiteDataSource();
    v1.setUrl("jdbc:sqlite:" + dataDir.resolve(Database.SQLITE_FILE_NAME));
    Database.migrations(v1, Dialect.SQLITE).target("1").load().migrate();
    try (Connection c = v1.getConnection()) {
      Attempt attempt = running.current().orElseThrow();
      execute(
          c,
          "INSERT INTO jobs (id, name, state, spec, priority, attempts, current_attempt,"
              + " created_at, updated_at, finished_at, waiting_reason, version)"
              + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '', ?)",
          running.id().value(),
          running.spec().name(),
          running.state().name(),
          WireMapping.toJson(running.spec()),
          running.spec().constraints().priority(),
          running.attempts(),
          attempt.number(),
          T0.toEpochMilli(),
          running.updatedAt().toEpochMilli(),
          running.version());
      execute(
          c,
          "INSERT INTO job_attempts (job_id, number, execution_id, worker_id, state,"
              + " scheduled_at, started_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
          running.id().value(),
          attempt.number(),
          execution.value(),
          "w-old",
          attempt.state().name(),
          attempt.scheduledAt().toEpochMilli(),
          attempt.startedAt().orElseThrow().toEpochMilli());
      insertV1Chunk(c, running.id(), 0, 1, firstAttempt);
      insertV1Chunk(c, running.id(), 2, 2, secondAttempt);
      insertV1Chunk(c, running.id(), 5, 2, secondAttemptMore);
      execute(
          c,
          "INSERT INTO workers (id, name, provider, hostname, ip_address, version, info,"
              + " session_hash, registered_at, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
          "w-old",
          info.name(),
          "local",
          info.hostname(),
          info.ipAddress(),
          info.version(),
          JsonFormat.printer().print(WireMapping.toWire(info)),
          "hash",
          T0.toEpochMilli());
    }

    try (Database db = Database.sqlite(dataDir)) {
      assertThat(appliedMigrations(db)).containsExactly("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13");
      Storage stores = Stores.open(db);

      assertThat(stores.jobs().find(running.id())).contains(running);
      assertThat(stores.jobs().active()).containsExactly(running);
      assertThat(stores.jobs().findByExecution(execution)).contains(running);
      assertThat(stores.jobs().events(running.id(), 1, 10)).isEmpty();
      Job progressed =
          stores
              .jobs()
              .update(running.reportProgress(execution, 50, "half", T0.plusSeconds(3)), "progress");
      assertThat(stores.jobs().find(running.id())).contains(progressed);
      assertThat(stores.jobs().events(running.id(), 1, 10))
          .extracting(JobEvent::sequence, JobEvent::message)
          .containsExactly(tuple(1L, "progress"));

      assertThat(texts(stores.logs().read(running.id(), 0, 100)))
          .containsExactly("one", "two", "three", "four", "fünf", "six");
      assertThat(stores.logs().byteCount(running.id()))
          .isEqualTo(bytes(firstAttempt) + bytes(secondAttempt) + bytes(secondAttemptMore));
      // The upgrade counted the logs already stored against their owner's quota.
      assertThat(stores.logs().bytesOwnedBy(running.owner())).isEqualTo(stores.logs().byteCount(running.id()));
      assertThat(stores.logs().append(running.id(), 1, List.of())).isEqualTo(2);
      assertThat(stores.logs().append(running.id(), 2, List.of())).isEqualTo(4);
      List<LogLine> resent =
          List.of(workerLine(3, "six"), workerLine(4, "seven"), workerLine(5, "eight"));
      assertThat(stores.logs().append(running.id(), 2, resent)).isEqualTo(6);
      assertThat(stores.logs().read(running.id(), 0, 100))
          .extracting(LogLine::sequence)
          .containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L);
      assertThat(texts(stores.logs().read(running.id(), 6, 100))).containsExactly("seven", "eight");
      assertThat(stores.logs().bytesOwnedBy(running.owner())).isEqualTo(stores.logs().byteCount(running.id()));

      WorkerRegistration worker = stores.workers().find(new WorkerId("w-old")).orElseThrow();
      assertThat(worker.info()).isEqualTo(info);
      assertThat(worker.handleReference()).isEmpty();
      assertThat(worker.active()).isTrue();
    }
  }

  @Test
  void everyPooledConnectionGetsThePragmas() throws SQLException {
    try (Database db = Database.sqlite(dataDir)) {
      List<Connection> held = new ArrayList<>();
      try {
        for (int i = 0; i < Database.SQLITE_POOL_SIZE; i++) {
          held.add(db.dataSource().getConnection());
        }
        for (Connection c : held) {
          assertThat(pragma(c, "journal_mode")).isEqualTo("wal");
          assertThat(pragma(c, "foreign_keys")).isEqualTo("1");
          assertThat(pragma(c, "busy_timeout")).isEqualTo("5000");
          assertThat(pragma(c, "synchronous")).isEqualTo("1"); // NORMAL
        }
      } finally {
        for (Connection c : held) {
          c.close();
        }
      }
    }
  }

  @Test
  void aDataDirectoryThatCannotBeCreatedIsUnavailable() throws Exception {
    Path file = Files.writeString(dataDir.resolve("not-a-dir"), "x");

    assertThatThrownBy(() -> Database.sqlite(file.resolve("sub")))
        .isInstanceOf(UnavailableException.class);
  }

  @Test
  void storesFailAsUnavailableOnceTheDatabaseIsClosed() {
    Database db = Database.sqlite(dataDir);
    var stores = Stores.open(db);
    db.close();

    assertThatThrownBy(() -> stores.jobs().countByState()).isInstanceOf(UnavailableException.class);
  }

  /** A line as the V1 store kept it: V1 numbered lines itself, so the worker's number is moot. */
  private static LogLine oldLine(String text) {
    return workerLine(-1, text);
  }

  private static LogLine workerLine(long sequence, String text) {
    return new LogLine(sequence, 0, LogStream.STDOUT, text.getBytes(StandardCharsets.UTF_8), T0);
  }

  private static long bytes(List<LogLine> lines) {
    return lines.stream().mapToLong(l -> l.data().length).sum();
  }

  private static List<String> texts(List<LogLine> lines) {
    return lines.stream().map(l -> new String(l.data(), StandardCharsets.UTF_8)).toList();
  }

  /** A {@code log_chunks} row with only the columns schema version 1 had. */
  private static void insertV1Chunk(
      Connection c, JobId job, long firstSequence, int attempt, List<LogLine> lines)
      throws SQLException {
    execute(
        c,
        "INSERT INTO log_chunks (job_id, first_seq, line_count, attempt, data, created_at)"
            + " VALUES (?, ?, ?, ?, ?, ?)",
        job.value(),
        firstSequence,
        lines.size(),
        attempt,
        LogChunkCodec.encode(lines),
        T0.toEpochMilli());
  }

  private static void execute(Connection c, String sql, Object... parameters) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < parameters.length; i++) {
        ps.setObject(i + 1, parameters[i]);
      }
      ps.executeUpdate();
    }
  }

  private static String pragma(Connection c, String name) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("PRAGMA " + name)) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static List<String> appliedMigrations(Database db) {
    return SqlRows.of(
        db.dataSource(), "SELECT version FROM flyway_schema_history WHERE success = 1 ORDER BY installed_rank");
  }
}
