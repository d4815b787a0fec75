package io.hodei.store;

import io.hodei.core.job.JobId;
import io.hodei.core.log.LogLine;
import io.hodei.core.log.LogStore;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link LogStore} on the {@code log_chunks} table: each {@link #append} stores its whole batch as
 * one row (a chunk) holding lines {@code first_seq .. first_seq + line_count - 1}, encoded by
 * {@link LogChunkCodec}. Line data are bytes and come back exactly as given, including empty lines
 * and bytes that are not UTF-8; instants come back to the nanosecond.
 *
 * <p>Thread-safe. An append is one transaction, so a batch is stored completely or not at all and
 * sequences stay gap-free. Appends to one job are meant to come from one writer at a time; should
 * two race anyway they take turns (see {@link Dialect#lockLogOf}), so neither fails and no line is
 * lost. Reads run in one statement and may follow a log while it is written.
 */
public final class JdbcLogStore implements LogStore {
  private static final String NEXT_SEQUENCE =
      "SELECT first_seq + line_count FROM log_chunks WHERE job_id = ?"
          + " ORDER BY first_seq DESC LIMIT 1";

  /**
   * The chunks holding lines from a sequence on. The subquery finds, through the primary key, the
   * chunk the sequence falls in, so the scan starts there instead of at the first chunk.
   */
  private static final String CHUNKS_FROM =
      """
      SELECT first_seq, line_count, attempt, data FROM log_chunks
      WHERE job_id = ?
        AND first_seq >= COALESCE(
              (SELECT MAX(first_seq) FROM log_chunks WHERE job_id = ? AND first_seq <= ?), 0)
        AND first_seq + line_count > ?
      ORDER BY first_seq
      LIMIT ?\
      """;

  private final Jdbc jdbc;
  private final Dialect dialect;
  private final Clock clock;

  public JdbcLogStore(Database database) {
    this(database, Clock.systemUTC());
  }

  /** {@code clock} stamps {@code log_chunks.created_at}, for retention. */
  public JdbcLogStore(Database database, Clock clock) {
    this.jdbc = new Jdbc(database);
    this.dialect = database.dialect();
    this.clock = clock;
  }

  @Override
  public long append(JobId job, int attempt, List<LogLine> lines) {
    if (lines.isEmpty()) {
      return jdbc.read(
          "read the log end of job " + job + " attempt " + attempt,
          c -> nextWorkerSequence(c, job, attempt));
    }
    return jdbc.write(
        "append " + lines.size() + " log lines of job " + job,
        c -> {
          dialect.lockLogOf(c, job.value());
          long expected = nextWorkerSequence(c, job, attempt);
          List<LogLine> fresh =
              lines.stream().filter(line -> line.sequence() >= expected).toList();
          if (fresh.isEmpty()) {
            return expected;
          }
          long first = nextSequence(c, job);
          long workerFirst = fresh.getFirst().sequence();
          long bytes = insertChunk(c, job, first, attempt, workerFirst, fresh);
          addUsage(c, job, bytes);
          return Math.max(expected, fresh.getLast().sequence() + 1);
        });
  }

  @Override
  public long byteCount(JobId job) {
    return jdbc.read(
        "count the log bytes of job " + job,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT COALESCE(SUM(byte_count), 0) FROM log_chunks WHERE job_id = ?")) {
            ps.setString(1, job.value());
            try (ResultSet rs = ps.executeQuery()) {
              rs.next();
              return rs.getLong(1);
            }
          }
        });
  }

  /** The worker sequence after the attempt's last stored line: an index seek, not a scan. */
  private static long nextWorkerSequence(Connection c, JobId job, int attempt)
      throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT worker_first_seq + line_count FROM log_chunks"
                + " WHERE job_id = ? AND attempt = ? ORDER BY worker_first_seq DESC LIMIT 1")) {
      ps.setString(1, job.value());
      ps.setInt(2, attempt);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0;
      }
    }
  }

  @Override
  public List<LogLine> read(JobId job, long fromSequence, int maxLines) {
    if (maxLines <= 0) {
      return List.of();
    }
    long from = Math.max(0, fromSequence);
    return jdbc.read(
        "read the log of job " + job,
        c -> {
          try (PreparedStatement ps = c.prepareStatement(CHUNKS_FROM)) {
            ps.setString(1, job.value());
            ps.setString(2, job.value());
            ps.setLong(3, from);
            ps.setLong(4, from);
            ps.setInt(5, maxLines);
            try (ResultSet rs = ps.executeQuery()) {
              List<LogLine> lines = new ArrayList<>(Math.min(maxLines, 1024));
              while (lines.size() < maxLines && rs.next()) {
                List<LogLine> chunk =
                    LogChunkCodec.decode(
                        rs.getBytes("data"), rs.getLong("first_seq"), rs.getInt("attempt"));
                for (LogLine line : chunk) {
                  if (line.sequence() >= from && lines.size() < maxLines) {
                    lines.add(line);
                  }
                }
              }
              return lines;
            }
          }
        });
  }

  private static long nextSequence(Connection c, JobId job) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(NEXT_SEQUENCE)) {
      ps.setString(1, job.value());
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0;
      }
    }
  }

  /** Adds a chunk's bytes to its job's owner's total (nothing for a job not in the store). */
  private static void addUsage(Connection c, JobId job, long bytes) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO log_usage (owner, bytes) SELECT owner, ? FROM jobs WHERE id = ?"
                + " ON CONFLICT (owner) DO UPDATE SET bytes = log_usage.bytes + excluded.bytes")) {
      ps.setLong(1, bytes);
      ps.setString(2, job.value());
      ps.executeUpdate();
    }
  }

  @Override
  public long bytesOwnedBy(String owner) {
    return jdbc.read(
        "count the log bytes of " + owner + "'s jobs",
        c -> {
          try (PreparedStatement ps = c.prepareStatement("SELECT bytes FROM log_usage WHERE owner = ?")) {
            ps.setString(1, owner);
            try (ResultSet rs = ps.executeQuery()) {
              return rs.next() ? rs.getLong(1) : 0L;
            }
          }
        });
  }

  @Override
  public Deleted deleteLogsOfJobsFinished(Instant from, Instant before) {
    List<String> finished =
        jdbc.read(
            "find the jobs whose logs are past retention",
            c -> {
              try (PreparedStatement ps =
                  c.prepareStatement(
                      "SELECT id FROM jobs WHERE finished_at >= ? AND finished_at < ? ORDER BY finished_at")) {
                ps.setLong(1, Jdbc.millis(from));
                ps.setLong(2, Jdbc.millis(before));
                try (ResultSet rs = ps.executeQuery()) {
                  List<String> ids = new ArrayList<>();
                  while (rs.next()) {
                    ids.add(rs.getString(1));
                  }
                  return ids;
                }
              }
            });
    int jobs = 0;
    long bytes = 0;
    for (String id : finished) {
      long deleted = deleteLogOf(id, before);
      if (deleted >= 0) {
        jobs++;
        bytes += deleted;
      }
    }
    return new Deleted(jobs, bytes);
  }

  /** Deletes the job's log if it is still finished before {@code before}; -1 if it had none. */
  private long deleteLogOf(String jobId, Instant before) {
    return jdbc.write(
        "delete the log of job " + jobId,
        c -> {
          dialect.lockLogOf(c, jobId);
          String owner;
          try (PreparedStatement ps =
              c.prepareStatement("SELECT owner FROM jobs WHERE id = ? AND finished_at < ?")) {
            ps.setString(1, jobId);
            ps.setLong(2, Jdbc.millis(before));
            try (ResultSet rs = ps.executeQuery()) {
              if (!rs.next()) {
                return -1L;
              }
              owner = rs.getString(1);
            }
          }
          long bytes;
          int chunks;
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT COUNT(*), COALESCE(SUM(byte_count), 0) FROM log_chunks WHERE job_id = ?")) {
            ps.setString(1, jobId);
            try (ResultSet rs = ps.executeQuery()) {
              rs.next();
              chunks = rs.getInt(1);
              bytes = rs.getLong(2);
            }
          }
          if (chunks == 0) {
            return -1L;
          }
          try (PreparedStatement ps = c.prepareStatement("DELETE FROM log_chunks WHERE job_id = ?")) {
            ps.setString(1, jobId);
            ps.executeUpdate();
          }
          try (PreparedStatement ps =
              c.prepareStatement("UPDATE log_usage SET bytes = bytes - ? WHERE owner = ?")) {
            ps.setLong(1, bytes);
            ps.setString(2, owner);
            ps.executeUpdate();
          }
          return bytes;
        });
  }

  private long insertChunk(
      Connection c, JobId job, long first, int attempt, long workerFirst, List<LogLine> lines)
      throws SQLException {
    long bytes = 0;
    for (LogLine line : lines) {
      bytes += line.data().length;
    }
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO log_chunks (job_id, first_seq, line_count, attempt, data, created_at,"
                + " worker_first_seq, byte_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
      ps.setString(1, job.value());
      ps.setLong(2, first);
      ps.setInt(3, lines.size());
      ps.setInt(4, attempt);
      ps.setBytes(5, LogChunkCodec.encode(lines));
      ps.setLong(6, clock.millis());
      ps.setLong(7, workerFirst);
      ps.setLong(8, bytes);
      ps.executeUpdate();
    }
    return bytes;
  }
}
