-- The oldest pending jobs, for aging in the dispatch order (see JdbcJobStore.pending).
CREATE INDEX jobs_pending_by_age ON jobs (state, created_at, id);
