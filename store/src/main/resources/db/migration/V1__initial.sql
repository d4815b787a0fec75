-- The initial schema. Portable between SQLite and PostgreSQL: timestamps are epoch milliseconds
-- in BIGINT, text is VARCHAR or TEXT, and ${binary} is the dialect's byte column type
-- (BLOB on SQLite, BYTEA on PostgreSQL; see io.hodei.store.Dialect).

CREATE TABLE jobs (
  id              VARCHAR(255) NOT NULL PRIMARY KEY,
  name            TEXT         NOT NULL,
  state           VARCHAR(16)  NOT NULL,
  -- The job's definition as the v1 API's JSON (io.hodei.wire.WireMapping); written once.
  spec            TEXT         NOT NULL,
  -- constraints.priority of the spec, copied out for the dispatch order.
  priority        INTEGER      NOT NULL,
  -- How many attempts were ever scheduled.
  attempts        INTEGER      NOT NULL,
  -- job_attempts.number of the current attempt; NULL while there is none.
  current_attempt INTEGER,
  created_at      BIGINT       NOT NULL,
  updated_at      BIGINT       NOT NULL,
  finished_at     BIGINT,
  waiting_reason  TEXT         NOT NULL,
  -- Optimistic lock: every update is a compare-and-set on it.
  version         BIGINT       NOT NULL
);

-- Pending jobs in dispatch order: WHERE state = 'PENDING' ORDER BY priority DESC, created_at, id.
CREATE INDEX jobs_dispatch_order ON jobs (state, priority DESC, created_at, id);

-- Listings, newest first, with keyset paging on (created_at, id).
CREATE INDEX jobs_by_creation ON jobs (created_at, id);

-- A copy of the spec's labels, for filtering listings by label.
CREATE TABLE job_labels (
  job_id      VARCHAR(255) NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  label_key   TEXT         NOT NULL,
  label_value TEXT         NOT NULL,
  PRIMARY KEY (job_id, label_key)
);

CREATE INDEX job_labels_by_label ON job_labels (label_key, label_value);

CREATE TABLE job_attempts (
  job_id        VARCHAR(255) NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  number        INTEGER      NOT NULL,
  execution_id  VARCHAR(255) NOT NULL,
  worker_id     VARCHAR(255) NOT NULL,
  state         VARCHAR(16)  NOT NULL,
  scheduled_at  BIGINT       NOT NULL,
  started_at    BIGINT,
  finished_at   BIGINT,
  exit_code     INTEGER,
  error_message TEXT,
  PRIMARY KEY (job_id, number)
);

CREATE TABLE workers (
  id            VARCHAR(255) NOT NULL PRIMARY KEY,
  name          TEXT         NOT NULL,
  provider      VARCHAR(255) NOT NULL,
  hostname      TEXT         NOT NULL,
  ip_address    VARCHAR(255) NOT NULL,
  version       VARCHAR(255) NOT NULL,
  -- The whole WorkerInfo as the v1 API's JSON: capacity, capabilities, labels, taints.
  info          TEXT         NOT NULL,
  -- SHA-256 of the session id; the session id itself is never stored.
  session_hash  VARCHAR(255) NOT NULL,
  registered_at BIGINT       NOT NULL,
  -- 1 while the session can be resumed, 0 once the worker is gone.
  active        INTEGER      NOT NULL
);

CREATE TABLE otp_tokens (
  -- SHA-256 of the token; the token itself is never stored.
  token_hash  VARCHAR(255) NOT NULL PRIMARY KEY,
  worker_id   VARCHAR(255) NOT NULL,
  expires_at  BIGINT       NOT NULL,
  consumed_at BIGINT
);

-- Job output, one row per appended batch: lines first_seq .. first_seq + line_count - 1,
-- encoded by io.hodei.store.LogChunkCodec.
CREATE TABLE log_chunks (
  job_id     VARCHAR(255) NOT NULL,
  first_seq  BIGINT       NOT NULL,
  line_count INTEGER      NOT NULL,
  attempt    INTEGER      NOT NULL,
  data       ${binary}    NOT NULL,
  created_at BIGINT       NOT NULL,
  PRIMARY KEY (job_id, first_seq)
);
