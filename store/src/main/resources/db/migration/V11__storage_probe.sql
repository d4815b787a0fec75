-- One row that the control plane rewrites, now and then, only while its last write failed (a full
-- disk, a read-only file system): the write that tells it the storage was fixed.
CREATE TABLE storage_probe (
  id        INTEGER NOT NULL PRIMARY KEY,
  probed_at BIGINT  NOT NULL
);
INSERT INTO storage_probe (id, probed_at) VALUES (1, 0);
