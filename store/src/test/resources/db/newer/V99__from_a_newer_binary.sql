-- Test only: a migration of a hodei newer than this build, applied by SchemaVersionContract to
-- stand for a database that such a binary migrated.
CREATE TABLE from_a_newer_binary (id INTEGER PRIMARY KEY);
