package io.hodei.store;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real PostgreSQL server for the store's tests: one per test JVM, started on first use from the
 * binaries zonky unpacks from Maven Central, and stopped when the JVM exits. Each call of {@link
 * #freshDatabase()} creates a database of its own, so tests never see each other's rows.
 */
final class TestPostgres {
  private static final AtomicInteger databases = new AtomicInteger();
  private static EmbeddedPostgres server;

  private TestPostgres() {}

  /** The shared server, started on first use. */
  static synchronized EmbeddedPostgres server() {
    if (server == null) {
      try {
        Path dir = Files.createTempDirectory("hodei-store-pg");
        server = EmbeddedPostgres.builder().setDataDirectory(dir.resolve("data")).setCleanDataDirectory(true).start();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start the embedded PostgreSQL", e);
      }
      EmbeddedPostgres started = server;
      Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> {
        try {
          started.close();
        } catch (IOException ignored) {
          // the JVM is exiting; zonky removes its directory itself
        }
      }));
    }
    return server;
  }

  /** The JDBC URL of a new, empty database on the shared server, not yet migrated. */
  static String freshDatabaseUrl() {
    String name = "hodei_test_" + databases.incrementAndGet();
    try (Connection c = server().getPostgresDatabase().getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create test database " + name, e);
    }
    return "jdbc:postgresql://localhost:" + server().getPort() + "/" + name;
  }

  /** A new, empty database on the shared server, migrated to the current schema. */
  static Database freshDatabase() {
    return Database.postgres(freshDatabaseUrl(), "postgres", "");
  }
}
