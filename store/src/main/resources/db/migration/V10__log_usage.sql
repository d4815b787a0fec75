-- Stored log bytes per job owner, for the per-user quota of stored log bytes: kept in the same
-- transaction as every chunk appended or deleted, so the quota check is one primary-key read.
CREATE TABLE log_usage (
  owner VARCHAR(255) NOT NULL PRIMARY KEY,
  bytes BIGINT       NOT NULL
);

INSERT INTO log_usage (owner, bytes)
  SELECT j.owner, SUM(l.byte_count) FROM log_chunks l JOIN jobs j ON j.id = l.job_id
  GROUP BY j.owner;

-- Log retention: jobs that finished in a window of time, oldest first.
CREATE INDEX jobs_by_finish ON jobs (finished_at);
