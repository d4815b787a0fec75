-- The complete job lifecycle: retry backoff, progress, cancel requests, history, log
-- de-duplication by the worker's sequence, and adoption of workers after a restart.
-- Portable between SQLite and PostgreSQL, as V1.

-- A Pending job waiting out a retry backoff is not dispatched before not_before.
ALTER TABLE jobs ADD COLUMN not_before BIGINT;
ALTER TABLE jobs ADD COLUMN progress_percent DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN progress_message TEXT NOT NULL DEFAULT '';
-- Set once somebody asked to cancel the job.
ALTER TABLE jobs ADD COLUMN cancel_reason TEXT;
ALTER TABLE jobs ADD COLUMN cancelled_by TEXT;
ALTER TABLE jobs ADD COLUMN cancel_requested_at BIGINT;

-- Reports from workers name the execution, not the job.
CREATE INDEX job_attempts_by_execution ON job_attempts (execution_id);

-- Every state change of a job, numbered per job from 1; WatchJob replays and follows it.
CREATE TABLE job_events (
  job_id  VARCHAR(255) NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  seq     BIGINT       NOT NULL,
  state   VARCHAR(16)  NOT NULL,
  at      BIGINT       NOT NULL,
  message TEXT         NOT NULL,
  PRIMARY KEY (job_id, seq)
);

-- The worker numbers an attempt's lines from 0; a batch it re-sends after a reconnect is
-- recognised by these numbers and not stored twice.
ALTER TABLE log_chunks ADD COLUMN worker_first_seq BIGINT NOT NULL DEFAULT 0;
-- Bytes of line data in the chunk, for the per-job log cap.
ALTER TABLE log_chunks ADD COLUMN byte_count BIGINT NOT NULL DEFAULT 0;
-- Chunks stored before this version: an attempt's lines count from 0 in the order they were
-- stored, and the line data are the chunk less LogChunkCodec's framing (5 bytes, then 17 per
-- line).
UPDATE log_chunks SET
  worker_first_seq = (SELECT COALESCE(SUM(o.line_count), 0) FROM log_chunks o
                      WHERE o.job_id = log_chunks.job_id AND o.attempt = log_chunks.attempt
                        AND o.first_seq < log_chunks.first_seq),
  byte_count = LENGTH(data) - 5 - 17 * line_count;
CREATE INDEX log_chunks_by_attempt ON log_chunks (job_id, attempt, worker_first_seq);

-- The provider's reference to the worker (a pid, a container id), so that a restarted server
-- can still stop a worker it started before the restart.
ALTER TABLE workers ADD COLUMN handle_ref TEXT NOT NULL DEFAULT '';
