-- Identical events within a minute (a denial repeated in a loop) are one row with a count.
ALTER TABLE audit_events ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit_events ADD COLUMN last_at BIGINT NOT NULL DEFAULT 0;
