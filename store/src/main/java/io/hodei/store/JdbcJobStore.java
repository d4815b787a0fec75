package io.hodei.store;

import io.hodei.core.error.ConflictException;
import io.hodei.core.error.NotFoundException;
import io.hodei.core.job.Attempt;
import io.hodei.core.job.ExecutionId;
import io.hodei.core.job.Job;
import io.hodei.core.job.CancelRequest;
import io.hodei.core.job.JobEvent;
import io.hodei.core.job.JobId;
import io.hodei.core.job.JobQuery;
import io.hodei.core.job.JobState;
import io.hodei.core.job.JobStore;
import io.hodei.core.job.Page;
import io.hodei.core.scheduling.QueueOrder;
import io.hodei.core.worker.WorkerId;
import io.hodei.wire.WireMapping;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import io.hodei.core.job.JobSpec;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * {@link JobStore} on the {@code jobs}, {@code job_attempts} and {@code job_labels} tables.
 *
 * <p>Thread-safe; every method is one transaction (writes) or one statement (reads), so each is
 * atomic and every read sees one consistent state. {@link #update} is a compare-and-set on {@code
 * jobs.version} that writes the job row and its current attempt together.
 *
 * <p>The spec is written once, by {@link #insert}: it is stored as the v1 API's JSON, and its name,
 * priority and labels are copied into columns for querying. {@link #update} persists what a job's
 * transitions change (state, attempts, timestamps, waiting reason), not the spec.
 *
 * <p>Timestamps are kept to the millisecond: a job read back carries its instants truncated to
 * milliseconds. Jobs created within the same millisecond are ordered by id.
 */
public final class JdbcJobStore implements JobStore {
  private static final String ATTEMPT_COLUMNS =
      """
      a.number AS a_number, a.execution_id AS a_execution_id, a.worker_id AS a_worker_id,
      a.state AS a_state, a.scheduled_at AS a_scheduled_at, a.started_at AS a_started_at,
      a.finished_at AS a_finished_at, a.exit_code AS a_exit_code,
      a.error_message AS a_error_message, a.dropped_log_lines AS a_dropped_log_lines\
      """;

  /** A job with its current attempt, in one statement so the two are consistent. */
  private static final String SELECT_JOBS =
      "SELECT j.id, j.spec, j.state, j.created_at, j.updated_at, j.finished_at, j.attempts,"
          + " j.waiting_reason, j.version, j.not_before, j.progress_percent, j.progress_message,"
          + " j.cancel_reason, j.cancelled_by, j.cancel_requested_at, j.owner, "
          + ATTEMPT_COLUMNS
          + "\nFROM jobs j"
          + " LEFT JOIN job_attempts a ON a.job_id = j.id AND a.number = j.current_attempt\n";

  private static final String INSERT_JOB =
      """
      INSERT INTO jobs (id, name, state, spec, priority, attempts, current_attempt, created_at,
                        updated_at, finished_at, waiting_reason, version, owner)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)\
      """;

  private static final String UPDATE_JOB =
      """
      UPDATE jobs
      SET state = ?, attempts = ?, current_attempt = ?, updated_at = ?, finished_at = ?,
          waiting_reason = ?, not_before = ?, progress_percent = ?, progress_message = ?,
          cancel_reason = ?, cancelled_by = ?, cancel_requested_at = ?, version = version + 1
      WHERE id = ? AND version = ?\
      """;

  private static final String UPDATE_ATTEMPT =
      """
      UPDATE job_attempts
      SET execution_id = ?, worker_id = ?, state = ?, scheduled_at = ?, started_at = ?,
          finished_at = ?, exit_code = ?, error_message = ?, dropped_log_lines = ?
      WHERE job_id = ? AND number = ?\
      """;

  private static final String INSERT_ATTEMPT =
      """
      INSERT INTO job_attempts (execution_id, worker_id, state, scheduled_at, started_at,
                                finished_at, exit_code, error_message, dropped_log_lines, job_id, number)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)\
      """;

  private final Jdbc jdbc;
  /**
   * Decoded specs by job id, least recently used out. A spec never changes after {@link #insert},
   * and decoding its JSON was most of the cost of reading the head of the queue, which the
   * dispatcher does on every pass. Thread-safe through its own lock.
   */
  private final Map<String, JobSpec> specs =
      java.util.Collections.synchronizedMap(
          new java.util.LinkedHashMap<>(1024, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, JobSpec> eldest) {
              return size() > SPEC_CACHE_ENTRIES;
            }
          });
  private static final int SPEC_CACHE_ENTRIES = 20_000;
  private final java.time.Duration agingStep;

  /**
   * Group commit of inserts. Every QueueJob inserts a job, and a transaction of its own per job
   * made the commit, not the row, the cost of a deep queue. Concurrent inserts queue here; the
   * caller that takes {@link #committing} writes all that are queued (up to {@link #MAX_GROUP})
   * in one transaction and completes each one's future. Invariant: an insert returns only after
   * the transaction holding its row has committed (or fails with its own error), exactly as with
   * a transaction per insert; only the commit is shared.
   */
  private final java.util.concurrent.ConcurrentLinkedQueue<QueuedInsert> queuedInserts =
      new java.util.concurrent.ConcurrentLinkedQueue<>();

  private final java.util.concurrent.locks.ReentrantLock committing = new java.util.concurrent.locks.ReentrantLock();
  private static final int MAX_GROUP = 256;
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(JdbcJobStore.class);

  private record QueuedInsert(
      Job job, String specJson, String event, java.util.concurrent.CompletableFuture<Job> done) {}

  public JdbcJobStore(Database database) {
    this(database, QueueOrder.DEFAULT_STEP);
  }

  /** @param agingStep a pending job gains one priority level per step it waits */
  public JdbcJobStore(Database database, java.time.Duration agingStep) {
    this.jdbc = new Jdbc(database);
    this.agingStep = agingStep;
  }

  /**
   * Stores {@code job} at version 1 with its labels (and its current attempt, if it has one).
   *
   * @throws IllegalStateException if a job with the same id exists: ids are random, so that is a
   *     bug
   */
  @Override
  public Job insert(Job job, String event) {
    // The JSON is made here, in parallel, rather than under the write lock.
    var mine = new QueuedInsert(job, WireMapping.toJson(job.spec()), event, new java.util.concurrent.CompletableFuture<>());
    queuedInserts.add(mine);
    committing.lock();
    try {
      // Whoever holds the lock commits what is queued, its own insert among it (unless more than
      // a group was queued ahead of it: then another round).
      while (!mine.done().isDone()) {
        List<QueuedInsert> group = new ArrayList<>();
        for (QueuedInsert q; group.size() < MAX_GROUP && (q = queuedInserts.poll()) != null; ) {
          group.add(q);
        }
        if (group.isEmpty()) {
          // Cannot happen while every commit completes its group (below); never spin on it.
          mine.done().completeExceptionally(new IllegalStateException("insert of job " + job.id() + " was lost track of"));
          break;
        }
        try {
          commit(group);
        } catch (Throwable t) {
          // An Error mid-commit: the group's callers must hear of it, not wait forever.
          group.forEach(q -> q.done().completeExceptionally(t));
          throw t;
        }
      }
    } finally {
      committing.unlock();
    }
    try {
      return mine.done().join();
    } catch (java.util.concurrent.CompletionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw e;
    }
  }

  /**
   * Inserts in one transaction; if it fails, each again alone, so that one bad insert fails only
   * itself. Every future is complete on return.
   */
  private void commit(List<QueuedInsert> group) {
    if (group.size() > 1) {
      try {
        List<Job> stored =
            jdbc.write(
                "insert " + group.size() + " jobs",
                c -> {
                  List<Job> rows = new ArrayList<>(group.size());
                  for (QueuedInsert q : group) {
                    rows.add(insertRow(c, q));
                  }
                  return rows;
                });
        for (int i = 0; i < group.size(); i++) {
          group.get(i).done().complete(stored.get(i));
        }
        return;
      } catch (RuntimeException e) {
        log.debug("a group of {} inserts failed ({}); inserting each alone", group.size(), e.getMessage());
      }
    }
    for (QueuedInsert q : group) {
      try {
        q.done().complete(jdbc.write("insert job " + q.job().id(), c -> insertRow(c, q)));
      } catch (RuntimeException e) {
        q.done().completeExceptionally(e);
      }
    }
  }

  private static Job insertRow(Connection c, QueuedInsert q) throws SQLException {
    Job job = q.job();
    Job stored = job.withVersion(1);
    try (PreparedStatement ps = c.prepareStatement(INSERT_JOB)) {
      ps.setString(1, job.id().value());
      ps.setString(2, job.spec().name() == null ? "" : job.spec().name());
      ps.setString(3, job.state().name());
      ps.setString(4, q.specJson());
      ps.setInt(5, job.spec().constraints().priority());
      ps.setInt(6, job.attempts());
      setCurrentAttempt(ps, 7, job);
      ps.setLong(8, Jdbc.millis(job.createdAt()));
      ps.setLong(9, Jdbc.millis(job.updatedAt()));
      Jdbc.setInstant(ps, 10, job.finishedAt());
      ps.setString(11, job.waitingReason());
      ps.setLong(12, stored.version());
      ps.setString(13, job.owner());
      ps.executeUpdate();
    }
    insertLabels(c, job);
    if (job.current().isPresent()) {
      upsertAttempt(c, job.id(), job.current().get());
    }
    appendEvent(c, job, q.event());
    return stored;
  }

  @Override
  public Optional<Job> find(JobId id) {
    return jdbc.read(
        "read job " + id,
        c -> {
          try (PreparedStatement ps = c.prepareStatement(SELECT_JOBS + "WHERE j.id = ?")) {
            ps.setString(1, id.value());
            try (ResultSet rs = ps.executeQuery()) {
              return rs.next() ? Optional.of(job(rs)) : Optional.empty();
            }
          }
        });
  }

  /**
   * Writes the job's state if the stored version is still {@code job.version()}, and upserts its
   * current attempt in the same transaction.
   *
   * @throws ConflictException if the stored version differs: someone else updated it first
   * @throws NotFoundException if no job with this id was ever inserted
   */
  @Override
  public Job update(Job job) {
    return update(job, null);
  }

  /** As {@link #update(Job)}, appending {@code event} (when not null) to the job's history. */
  @Override
  public Job update(Job job, String event) {
    long expected = job.version();
    return jdbc.write(
        "update job " + job.id(),
        c -> {
          int rows;
          try (PreparedStatement ps = c.prepareStatement(UPDATE_JOB)) {
            ps.setString(1, job.state().name());
            ps.setInt(2, job.attempts());
            setCurrentAttempt(ps, 3, job);
            ps.setLong(4, Jdbc.millis(job.updatedAt()));
            Jdbc.setInstant(ps, 5, job.finishedAt());
            ps.setString(6, job.waitingReason());
            Jdbc.setInstant(ps, 7, job.notBefore());
            ps.setDouble(8, job.progress().percent());
            ps.setString(9, job.progress().message());
            Jdbc.setString(ps, 10, job.cancel().map(CancelRequest::reason));
            Jdbc.setString(ps, 11, job.cancel().map(CancelRequest::requestedBy));
            Jdbc.setInstant(ps, 12, job.cancel().map(CancelRequest::at));
            ps.setString(13, job.id().value());
            ps.setLong(14, expected);
            rows = ps.executeUpdate();
          }
          if (rows == 0) {
            OptionalLong stored = storedVersion(c, job.id());
            if (stored.isEmpty()) {
              throw new NotFoundException("job", job.id().value());
            }
            throw new ConflictException(
                "job "
                    + job.id()
                    + " was changed concurrently: it is at version "
                    + stored.getAsLong()
                    + ", not "
                    + expected);
          }
          if (job.current().isPresent()) {
            upsertAttempt(c, job.id(), job.current().get());
          }
          if (event != null) {
            appendEvent(c, job, event);
          }
          return job.withVersion(expected + 1);
        });
  }

  @Override
  public List<Job> pending(int limit, java.time.Instant now) {
    if (limit <= 0) {
      return List.of();
    }
    // Aged priority is not indexable, but the jobs it ranks first are among the highest base
    // priorities or among the oldest: two index-ordered reads, merged, instead of a full sort.
    return jdbc.read(
        "read pending jobs",
        c -> {
          var merged = new java.util.LinkedHashMap<JobId, Job>();
          for (String order :
              List.of("j.priority DESC, j.created_at ASC, j.id ASC", "j.created_at ASC, j.id ASC")) {
            try (PreparedStatement ps =
                c.prepareStatement(
                    SELECT_JOBS
                        + "WHERE j.state = '" + JobState.PENDING.name() + "'" // a literal: see V13
                        + " AND (j.not_before IS NULL OR j.not_before <= ?)"
                        + " ORDER BY "
                        + order
                        + " LIMIT ?")) {
              ps.setLong(1, Jdbc.millis(now));
              ps.setInt(2, limit);
              jobs(ps).forEach(job -> merged.putIfAbsent(job.id(), job));
            }
          }
          return merged.values().stream()
              .sorted(QueueOrder.comparator(now, agingStep))
              .limit(limit)
              .toList();
        });
  }

  @Override
  public List<Job> active() {
    return jdbc.read(
        "read active jobs",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  SELECT_JOBS + "WHERE j.state IN (?, ?) ORDER BY j.created_at ASC, j.id ASC")) {
            ps.setString(1, JobState.SCHEDULED.name());
            ps.setString(2, JobState.RUNNING.name());
            return jobs(ps);
          }
        });
  }

  @Override
  public Optional<Job> findByExecution(ExecutionId execution) {
    return jdbc.read(
        "read job of execution " + execution,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  SELECT_JOBS + "WHERE a.execution_id = ?")) {
            ps.setString(1, execution.value());
            List<Job> found = jobs(ps);
            return found.isEmpty() ? Optional.empty() : Optional.of(found.getFirst());
          }
        });
  }

  @Override
  public List<JobEvent> events(JobId id, long fromSequence, int max) {
    return jdbc.read(
        "read history of job " + id,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT seq, state, at, message FROM job_events"
                      + " WHERE job_id = ? AND seq >= ? ORDER BY seq LIMIT ?")) {
            ps.setString(1, id.value());
            ps.setLong(2, fromSequence);
            ps.setInt(3, Math.max(0, max));
            try (ResultSet rs = ps.executeQuery()) {
              List<JobEvent> events = new ArrayList<>();
              while (rs.next()) {
                events.add(
                    new JobEvent(
                        id,
                        rs.getLong("seq"),
                        JobState.valueOf(rs.getString("state")),
                        Jdbc.instant(rs, "at"),
                        rs.getString("message")));
              }
              return events;
            }
          }
        });
  }

  /**
   * Newest first ({@code created_at} descending, then id descending), with keyset paging: the token
   * names the last job of the previous page, so pages neither repeat nor skip jobs when jobs are
   * added between calls. An empty token means the first page. {@code createdAfter} and {@code
   * createdBefore} are exclusive; the name prefix is matched literally and case-sensitively.
   *
   * @throws io.hodei.core.error.InvalidSpecException naming {@code page_token} if the token was not
   *     issued by this store
   */
  @Override
  public Page<Job> list(JobQuery query) {
    Optional<PageToken> after =
        query.pageToken().filter(token -> !token.isEmpty()).map(PageToken::decode);
    JobFilter filter = JobFilter.of(query, after);
    int pageSize = query.pageSize();
    return jdbc.read(
        "list jobs",
        c -> {
          String sql =
              SELECT_JOBS + filter.whereClause() + " ORDER BY j.created_at DESC, j.id DESC LIMIT ?";
          try (PreparedStatement ps = c.prepareStatement(sql)) {
            int next = filter.bind(ps, 1);
            ps.setInt(next, pageSize + 1);
            List<Job> jobs = jobs(ps);
            if (jobs.size() <= pageSize) {
              return new Page<>(jobs, Optional.empty());
            }
            List<Job> page = jobs.subList(0, pageSize);
            Job last = page.getLast();
            String token = new PageToken(Jdbc.millis(last.createdAt()), last.id().value()).encode();
            return new Page<>(page, Optional.of(token));
          }
        });
  }

  @Override
  public List<Attempt> attempts(JobId id) {
    return jdbc.read(
        "read attempts of job " + id,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT "
                      + ATTEMPT_COLUMNS
                      + " FROM job_attempts a WHERE a.job_id = ? ORDER BY a.number")) {
            ps.setString(1, id.value());
            try (ResultSet rs = ps.executeQuery()) {
              List<Attempt> attempts = new ArrayList<>();
              while (rs.next()) {
                attempts.add(attempt(rs).orElseThrow());
              }
              return attempts;
            }
          }
        });
  }

  @Override
  public Map<JobState, Long> countByState() {
    return counts("count jobs by state", "SELECT state, COUNT(*) FROM jobs GROUP BY state");
  }

  @Override
  public Map<JobState, Long> countActive() {
    return counts(
        "count active jobs",
        "SELECT state, COUNT(*) FROM jobs WHERE state IN ('" + JobState.PENDING.name() + "', '"
            + JobState.SCHEDULED.name() + "', '" + JobState.RUNNING.name() + "') GROUP BY state");
  }

  private Map<JobState, Long> counts(String action, String query) {
    return jdbc.read(
        action,
        c -> {
          try (PreparedStatement ps = c.prepareStatement(query); ResultSet rs = ps.executeQuery()) {
            Map<JobState, Long> counts = new EnumMap<>(JobState.class);
            while (rs.next()) {
              counts.put(JobState.valueOf(rs.getString(1)), rs.getLong(2));
            }
            return counts;
          }
        });
  }

  @Override
  public String pageTokenAfter(Job job) {
    return new PageToken(Jdbc.millis(job.createdAt()), job.id().value()).encode();
  }

  @Override
  public long countWaiting(String owner) {
    return jdbc.read(
        "count waiting jobs of " + owner,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("SELECT COUNT(*) FROM jobs WHERE owner = ? AND state IN ('PENDING', 'SCHEDULED')")) {
            ps.setString(1, owner);
            try (ResultSet rs = ps.executeQuery()) {
              rs.next();
              return rs.getLong(1);
            }
          }
        });
  }

  // ---- writing ---------------------------------------------------------------------------

  private static void setCurrentAttempt(PreparedStatement ps, int index, Job job)
      throws SQLException {
    if (job.current().isPresent()) {
      ps.setInt(index, job.current().get().number());
    } else {
      ps.setNull(index, java.sql.Types.INTEGER);
    }
  }

  private static void insertLabels(Connection c, Job job) throws SQLException {
    if (job.spec().labels().isEmpty()) {
      return;
    }
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO job_labels (job_id, label_key, label_value) VALUES (?, ?, ?)")) {
      for (Map.Entry<String, String> label : job.spec().labels().entrySet()) {
        ps.setString(1, job.id().value());
        ps.setString(2, label.getKey());
        ps.setString(3, label.getValue());
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  /**
   * Update, then insert if there was nothing to update. Safe without a unique-violation retry:
   * callers hold the job row (just inserted or compare-and-set) for the rest of the transaction.
   */
  private static void upsertAttempt(Connection c, JobId job, Attempt attempt) throws SQLException {
    try (PreparedStatement update = c.prepareStatement(UPDATE_ATTEMPT)) {
      bindAttempt(update, job, attempt);
      if (update.executeUpdate() > 0) {
        return;
      }
    }
    try (PreparedStatement insert = c.prepareStatement(INSERT_ATTEMPT)) {
      bindAttempt(insert, job, attempt);
      insert.executeUpdate();
    }
  }

  /** Binds the attempt in the column order UPDATE_ATTEMPT and INSERT_ATTEMPT share. */
  private static void bindAttempt(PreparedStatement ps, JobId job, Attempt attempt)
      throws SQLException {
    ps.setString(1, attempt.executionId().value());
    ps.setString(2, attempt.workerId().value());
    ps.setString(3, attempt.state().name());
    ps.setLong(4, Jdbc.millis(attempt.scheduledAt()));
    Jdbc.setInstant(ps, 5, attempt.startedAt());
    Jdbc.setInstant(ps, 6, attempt.finishedAt());
    Jdbc.setInt(ps, 7, attempt.exitCode());
    Jdbc.setString(ps, 8, attempt.errorMessage());
    ps.setLong(9, attempt.droppedLogLines());
    ps.setString(10, job.value());
    ps.setInt(11, attempt.number());
  }

  /** Appends to the job's history; the caller holds the job row for the transaction. */
  private static void appendEvent(Connection c, Job job, String message) throws SQLException {
    long next;
    try (PreparedStatement ps =
        c.prepareStatement("SELECT COALESCE(MAX(seq), 0) + 1 FROM job_events WHERE job_id = ?")) {
      ps.setString(1, job.id().value());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        next = rs.getLong(1);
      }
    }
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO job_events (job_id, seq, state, at, message) VALUES (?, ?, ?, ?, ?)")) {
      ps.setString(1, job.id().value());
      ps.setLong(2, next);
      ps.setString(3, job.state().name());
      ps.setLong(4, Jdbc.millis(job.updatedAt()));
      ps.setString(5, message);
      ps.executeUpdate();
    }
  }

  private static OptionalLong storedVersion(Connection c, JobId id) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT version FROM jobs WHERE id = ?")) {
      ps.setString(1, id.value());
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
      }
    }
  }

  // ---- reading ---------------------------------------------------------------------------

  private List<Job> jobs(PreparedStatement ps) throws SQLException {
    try (ResultSet rs = ps.executeQuery()) {
      List<Job> jobs = new ArrayList<>();
      while (rs.next()) {
        jobs.add(job(rs));
      }
      return jobs;
    }
  }

  private JobSpec spec(String id, ResultSet rs) throws SQLException {
    JobSpec cached = specs.get(id);
    if (cached != null) {
      return cached;
    }
    JobSpec decoded = WireMapping.fromJson(rs.getString("spec"));
    specs.put(id, decoded);
    return decoded;
  }

  private Job job(ResultSet rs) throws SQLException {
    String id = rs.getString("id");
    return new Job(
        new JobId(id),
        spec(id, rs),
        JobState.valueOf(rs.getString("state")),
        Jdbc.instant(rs, "created_at"),
        Jdbc.instant(rs, "updated_at"),
        Jdbc.optionalInstant(rs, "finished_at"),
        rs.getInt("attempts"),
        attempt(rs),
        rs.getString("waiting_reason"),
        Jdbc.optionalInstant(rs, "not_before"),
        new Job.Progress(rs.getDouble("progress_percent"), rs.getString("progress_message")),
        cancel(rs),
        rs.getLong("version"),
        rs.getString("owner"));
  }

  private static Optional<CancelRequest> cancel(ResultSet rs) throws SQLException {
    Optional<java.time.Instant> at = Jdbc.optionalInstant(rs, "cancel_requested_at");
    if (at.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(
        new CancelRequest(
            Jdbc.optionalString(rs, "cancel_reason").orElse(""),
            Jdbc.optionalString(rs, "cancelled_by").orElse(""),
            at.get()));
  }

  /** The attempt in the {@code a_} columns; empty when the outer join found none. */
  private static Optional<Attempt> attempt(ResultSet rs) throws SQLException {
    rs.getInt("a_number");
    if (rs.wasNull()) {
      return Optional.empty();
    }
    return Optional.of(
        new Attempt(
            rs.getInt("a_number"),
            new ExecutionId(rs.getString("a_execution_id")),
            new WorkerId(rs.getString("a_worker_id")),
            JobState.valueOf(rs.getString("a_state")),
            Jdbc.instant(rs, "a_scheduled_at"),
            Jdbc.optionalInstant(rs, "a_started_at"),
            Jdbc.optionalInstant(rs, "a_finished_at"),
            Jdbc.optionalInt(rs, "a_exit_code"),
            Jdbc.optionalString(rs, "a_error_message"),
            rs.getLong("a_dropped_log_lines")));
  }
}
