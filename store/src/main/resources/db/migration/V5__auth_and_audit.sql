-- Who queued each job: the principal's name. Jobs from before authentication have none and are
-- visible to admins only.
ALTER TABLE jobs ADD COLUMN owner VARCHAR(255) NOT NULL DEFAULT '';
CREATE INDEX jobs_by_owner ON jobs (owner, created_at);

-- API tokens, kept only as the SHA-256 of the token (hex): the token itself is shown once.
CREATE TABLE api_tokens (
  name        VARCHAR(255) NOT NULL PRIMARY KEY,
  token_hash  VARCHAR(64)  NOT NULL UNIQUE,
  role        VARCHAR(16)  NOT NULL,
  created_at  BIGINT       NOT NULL,
  expires_at  BIGINT,
  revoked_at  BIGINT
);

-- Security events. Never holds a secret or a token: only names, ids, addresses and words.
CREATE TABLE audit_events (
  id          VARCHAR(36)  NOT NULL PRIMARY KEY,
  at          BIGINT       NOT NULL,
  kind        VARCHAR(64)  NOT NULL,
  actor       VARCHAR(255) NOT NULL,
  target      VARCHAR(255) NOT NULL,
  detail      TEXT         NOT NULL,
  remote      VARCHAR(255) NOT NULL
);
CREATE INDEX audit_events_by_time ON audit_events (at);
