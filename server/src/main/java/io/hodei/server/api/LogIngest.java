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
 * Stores the log batches workers send, enforcing each job's log cap and its owner's quota of
 * stored log bytes.
 *
 * <p>Within the cap every line is stored, once: the store skips lines a worker re-sends after a
 * reconnect. The line that would cross the cap is replaced by a marker line on stderr, and every
 * later line of the job is discarded — but still acknowledged, so the worker does not keep it.
 * Truncation never touches the job's state or exit code.
 *
 * <p>The quota works much the same way: once the bytes stored for all of an owner's jobs reach it
 * (the store's running total, read per batch so that every replica sees the same figure; the line
 * that crosses it is still stored, so the owner's total is then at or past it), the next line
 * of each of the owner's running jobs is replaced by a marker naming the quota, and their later
 * lines are discarded. Log retention frees the owner's bytes again.
 *
 * <p>Thread-safe. A job's batches arrive on one worker stream at a time; the per-job byte count is
 * loaded from the store on first use (so it survives a restart) and forgotten when the job ends.
 */
final class LogIngest {
  private final LogStore logs;
  private final long capBytes;
  private final long ownerQuotaBytes;
  private final Clock clock;
  private final ConcurrentHashMap<JobId, AtomicLong> used = new ConcurrentHashMap<>();
  /** Jobs whose output was cut by their owner's quota (and got the marker). */
  private final java.util.Set<JobId> cutByQuota = ConcurrentHashMap.newKeySet();

  LogIngest(LogStore logs, long capBytes, long ownerQuotaBytes, Clock clock) {
    this.logs = logs;
    this.capBytes = capBytes;
    this.ownerQuotaBytes = ownerQuotaBytes;
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
    if (bytes.get() >= capBytes || cutByQuota.contains(job.id())) {
      return lastInBatch + 1;
    }
    long ownerRoom = ownerQuotaBytes - logs.bytesOwnedBy(job.owner());
    List<LogLine> keep = new ArrayList<>(batch.getLinesCount());
    long total = bytes.get();
    long added = 0;
    for (var line : batch.getLinesList()) {
      int size = line.getData().size();
      if (added >= ownerRoom) {
        byte[] marker =
            ("[hodei] log truncated: quota log_bytes: the logs stored for "
                    + (job.owner().isEmpty() ? "this job's owner" : job.owner())
                    + "'s jobs reached " + ownerQuotaBytes
                    + " bytes; the rest of this job's output is discarded. The job runs on unaffected;"
                    + " logs of finished jobs are deleted after the log retention, or an admin can raise the quota.")
                .getBytes(StandardCharsets.UTF_8);
        keep.add(new LogLine(line.getSequence(), attempt, LogStream.STDERR, marker, clock.instant()));
        cutByQuota.add(job.id());
        long stored = logs.append(job.id(), attempt, keep);
        bytes.set(total + marker.length);
        return Math.max(stored, lastInBatch + 1);
      }
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
      added += size;
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
    cutByQuota.remove(job);
  }
}
