package io.hodei.server.api;

import io.hodei.api.v1.LogBatch;
import io.hodei.core.job.Job;
import io.hodei.core.job.JobId;
import io.hodei.core.log.LogLine;
import io.hodei.core.log.LogStore;
import io.hodei.core.log.LogStream;
import io.hodei.wire.WireMapping;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Stores the log batches workers send, enforcing each job's log cap.
 *
 * <p>Within the cap every line is stored, once: the store skips lines a worker re-sends after a
 * reconnect. The line that would cross the cap is replaced by a marker line on stderr, and every
 * later line of the job is discarded — but still acknowledged, so the worker does not keep it.
 * Truncation never touches the job's state or exit code.
 *
 * <p>Thread-safe. A job's batches arrive on one worker stream at a time; the per-job byte count is
 * loaded from the store on first use (so it survives a restart) and forgotten when the job ends.
 */
final class LogIngest {
  private final LogStore logs;
  private final long capBytes;
  private final Clock clock;
  private final ConcurrentHashMap<JobId, AtomicLong> used = new ConcurrentHashMap<>();

  LogIngest(LogStore logs, long capBytes, Clock clock) {
    this.logs = logs;
    this.capBytes = capBytes;
    this.clock = clock;
  }

  /**
   * Stores what is new in {@code batch} for the job's current attempt. Returns the worker sequence
   * below which everything of the batch's execution is stored or deliberately discarded.
   */
  long ingest(Job job, LogBatch batch) {
    io.hodei.server.metrics.LogTraffic.batchReceived(batch.getLinesCount());
    int attempt = job.attempts();
    long lastInBatch = batch.getLines(batch.getLinesCount() - 1).getSequence();
    AtomicLong bytes = used.computeIfAbsent(job.id(), id -> new AtomicLong(logs.byteCount(id)));
    if (bytes.get() >= capBytes) {
      return lastInBatch + 1;
    }
    List<LogLine> keep = new ArrayList<>(batch.getLinesCount());
    long total = bytes.get();
    for (var line : batch.getLinesList()) {
      int size = line.getData().size();
      if (total + size > capBytes) {
        byte[] marker =
            ("[hodei] log truncated: this job's output passed the cap of "
                    + capBytes
                    + " bytes; the rest of it is discarded. The job runs on unaffected.")
                .getBytes(StandardCharsets.UTF_8);
        keep.add(new LogLine(line.getSequence(), attempt, LogStream.STDERR, marker, clock.instant()));
        total = Math.max(capBytes, total + marker.length);
        break;
      }
      total += size;
      keep.add(
          new LogLine(
              line.getSequence(),
              attempt,
              line.getStream() == io.hodei.api.v1.LogStream.LOG_STREAM_STDERR
                  ? LogStream.STDERR
                  : LogStream.STDOUT,
              line.getData().toByteArray(),
              line.hasAt() ? WireMapping.toDomain(line.getAt()) : clock.instant(),
              line.getNoNewline()));
    }
    long stored = logs.append(job.id(), attempt, keep);
    bytes.set(total);
    return total >= capBytes ? lastInBatch + 1 : stored;
  }

  /** The job ended: its counter is no longer needed. */
  void forget(JobId job) {
    used.remove(job);
  }
}
