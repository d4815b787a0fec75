package io.hodei.core.log;

import io.hodei.core.job.JobId;
import java.time.Instant;
import java.util.List;

/**
 * Durable, ordered job output. A job's log is appended by one writer at a time (the stream of the
 * worker running its current attempt); readers may follow it concurrently.
 */
public interface LogStore {

  /**
   * Appends an attempt's lines after the job's last line, numbering them consecutively in the
   * job's sequence. The lines arrive numbered by the worker, per attempt, from 0 (their {@code
   * sequence}); lines whose worker number is below the attempt's next expected one were stored
   * before (the worker re-sent them after a reconnect) and are skipped. Atomic: either every new
   * line is stored or none is.
   *
   * @return the attempt's next expected worker sequence: every line numbered below it is stored
   */
  long append(JobId job, int attempt, List<LogLine> lines);

  /** Bytes of line data stored for the job, over all attempts. */
  long byteCount(JobId job);

  /**
   * Bytes of line data stored for all jobs of {@code owner}: what the per-user quota of stored log
   * bytes counts.
   */
  long bytesOwnedBy(String owner);

  /** What {@link #deleteLogsOfJobsFinished} deleted. */
  record Deleted(int jobs, long bytes) {}

  /**
   * Deletes the whole log of every job that finished at or after {@code from} and before {@code
   * before} (log retention), each job in its own transaction; a job that is running again (it was
   * retried) keeps its log.
   */
  Deleted deleteLogsOfJobsFinished(Instant from, Instant before);

  /** Up to {@code maxLines} lines with sequence >= {@code fromSequence}, in order. */
  List<LogLine> read(JobId job, long fromSequence, int maxLines);
}
