package io.hodei.core.log;

import io.hodei.core.job.JobId;
import java.util.List;

/**
 * Durable, ordered job output. A job's log is appended by one writer at a time (the stream of the
 * worker running its current attempt); readers may follow it concurrently.
 */
public interface LogStore {

  /**
   * Appends {@code lines} after the job's last line, numbering them consecutively; their own
   * {@code sequence} values are ignored. Atomic: either every line is stored or none is.
   *
   * @return the sequence the next appended line will get
   */
  long append(JobId job, int attempt, List<LogLine> lines);

  /** Up to {@code maxLines} lines with sequence >= {@code fromSequence}, in order. */
  List<LogLine> read(JobId job, long fromSequence, int maxLines);
}
