-- Control-plane replicas on one database. Each live replica holds its row by renewing
-- expires_at; a row whose expires_at has passed belongs to a replica that died or stopped.
-- incarnation tells two processes given the same id apart; host and pid let a replica restarted
-- on the same machine take over its own row at once when the process that held it is gone.
CREATE TABLE replicas (
  id          VARCHAR(255) NOT NULL PRIMARY KEY,
  incarnation VARCHAR(255) NOT NULL,
  address     TEXT         NOT NULL,
  host        TEXT         NOT NULL,
  pid         BIGINT       NOT NULL,
  started_at  BIGINT       NOT NULL,
  renewed_at  BIGINT       NOT NULL,
  expires_at  BIGINT       NOT NULL
);

-- Named leases: at most one holder (a replica id) until expires_at. 'leader' elects the replica
-- that runs the singleton loops (sweeps, retention, orphan removal).
CREATE TABLE leases (
  name       VARCHAR(255) NOT NULL PRIMARY KEY,
  holder     VARCHAR(255) NOT NULL,
  expires_at BIGINT       NOT NULL
);

-- Followers on one replica see changes made on another by reading jobs changed since a moment.
CREATE INDEX jobs_by_update ON jobs (updated_at);

-- The replica a worker's stream is attached to (its id), so that the others leave its jobs alone
-- while that replica lives, and the leader settles them once it is gone and the worker has not
-- come back elsewhere. Empty before the first attach.
ALTER TABLE workers ADD COLUMN replica_id VARCHAR(255) NOT NULL DEFAULT '';

-- The replica that issued a registration token, so that a pool's workers are counted across
-- replicas: what the others run or are starting, beside what this one knows of itself.
ALTER TABLE otp_tokens ADD COLUMN replica_id VARCHAR(255) NOT NULL DEFAULT '';

-- The newest usage sample of each worker (the API's WorkerMetrics, encoded) and the replica that
-- received it, so that StreamMetrics on any replica shows every worker.
CREATE TABLE worker_samples (
  worker_id  VARCHAR(255) NOT NULL PRIMARY KEY,
  replica_id VARCHAR(255) NOT NULL,
  sampled_at BIGINT       NOT NULL,
  sample     ${binary}    NOT NULL
);
CREATE INDEX worker_samples_by_time ON worker_samples (sampled_at);

-- Commands for a worker whose stream is on another replica (drain, deregister): that replica
-- takes them, oldest first, and carries them out.
CREATE TABLE replica_commands (
  id         VARCHAR(64)  NOT NULL PRIMARY KEY,
  replica_id VARCHAR(255) NOT NULL,
  worker_id  VARCHAR(255) NOT NULL,
  kind       VARCHAR(32)  NOT NULL,
  reason     TEXT         NOT NULL,
  created_at BIGINT       NOT NULL
);
CREATE INDEX replica_commands_by_replica ON replica_commands (replica_id, created_at);
