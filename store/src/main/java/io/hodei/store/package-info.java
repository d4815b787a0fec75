/**
 * JDBC implementations of the core's storage ports, on SQLite (embedded, the default) or
 * PostgreSQL.
 *
 * <p>{@link io.hodei.store.Database} opens a pool and migrates the schema; {@link
 * io.hodei.store.Stores#open} builds the four stores on it. All SQL is shared between the two
 * databases; what differs is in {@link io.hodei.store.Dialect}. Storage failures surface as {@link
 * io.hodei.core.error.UnavailableException}; a violated schema constraint means a bug and surfaces
 * as {@link IllegalStateException}.
 */
package io.hodei.store;
