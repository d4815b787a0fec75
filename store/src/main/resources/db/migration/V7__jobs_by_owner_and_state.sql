-- Per-user quota of waiting jobs: COUNT(*) WHERE owner = ? AND state IN ('PENDING', 'SCHEDULED').
CREATE INDEX jobs_by_owner_and_state ON jobs (owner, state);
