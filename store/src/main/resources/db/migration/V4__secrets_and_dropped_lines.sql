-- Secret values of jobs between queuing and the job's end, encrypted (AES-256-GCM, see
-- io.hodei.store.SecretCipher): never in clear, and deleted when the job is settled.
CREATE TABLE job_secrets (
  job_id      VARCHAR(255) NOT NULL PRIMARY KEY,
  -- Which key encrypted the row (the first 8 bytes of the key's SHA-256, hex), so that a wrong
  -- key is reported as such instead of as corrupt data.
  key_id      VARCHAR(32)  NOT NULL,
  nonce       ${binary}    NOT NULL,
  ciphertext  ${binary}    NOT NULL,
  created_at  BIGINT       NOT NULL
);

-- The audit trail: which secret names (never values) went to which attempt on which worker.
CREATE TABLE secret_deliveries (
  job_id       VARCHAR(255) NOT NULL,
  attempt      INTEGER      NOT NULL,
  execution_id VARCHAR(255) NOT NULL,
  worker_id    VARCHAR(255) NOT NULL,
  -- Comma-separated; secret names are [A-Za-z_][A-Za-z0-9_]*.
  names        TEXT         NOT NULL,
  delivered_at BIGINT       NOT NULL,
  PRIMARY KEY (job_id, execution_id)
);

-- Lines the worker dropped under a job's drop log policy, per attempt.
ALTER TABLE job_attempts ADD COLUMN dropped_log_lines BIGINT NOT NULL DEFAULT 0;
