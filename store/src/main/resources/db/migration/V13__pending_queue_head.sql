-- The head of the queue, in the two orders JdbcJobStore.pending reads and merges: partial
-- indexes of the pending jobs alone, a few rows however many jobs have finished. The query names
-- the state as a literal so that PostgreSQL's generic plans can use them too. Over
-- (state, created_at, id) PostgreSQL's planner, misled by statistics of a table of finished jobs,
-- walked jobs_by_creation from the oldest job ever and filtered on the state instead.
CREATE INDEX jobs_pending_head_by_age ON jobs (created_at, id) WHERE state = 'PENDING';
CREATE INDEX jobs_pending_head_by_priority ON jobs (priority DESC, created_at, id) WHERE state = 'PENDING';
