package io.hodei.store;

import static io.hodei.store.TestJobs.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.core.error.UnavailableException;
import io.hodei.core.job.Job;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteDatabaseTest {
  @TempDir Path dataDir;

  @Test
  void opensAFileDatabaseInANewDirectory() {
    Path nested = dataDir.resolve("a/b");

    try (Database db = Database.sqlite(nested)) {
      assertThat(db.dialect()).isEqualTo(Dialect.SQLITE);
    }

    assertThat(nested.resolve("hodei.db")).isRegularFile();
  }

  @Test
  void reopeningMigratesNothingAndKeepsTheData() {
    Job job;
    try (Database db = Database.sqlite(dataDir)) {
      job = Stores.open(db).jobs().insert(TestJobs.queued(TestJobs.everyFieldSet(), T0));
    }

    try (Database db = Database.sqlite(dataDir)) {
      assertThat(Stores.open(db).jobs().find(job.id())).contains(job);
      assertThat(appliedMigrations(db)).containsExactly("1");
    }
  }

  @Test
  void everyPooledConnectionGetsThePragmas() throws SQLException {
    try (Database db = Database.sqlite(dataDir)) {
      List<Connection> held = new ArrayList<>();
      try {
        for (int i = 0; i < Database.SQLITE_POOL_SIZE; i++) {
          held.add(db.dataSource().getConnection());
        }
        for (Connection c : held) {
          assertThat(pragma(c, "journal_mode")).isEqualTo("wal");
          assertThat(pragma(c, "foreign_keys")).isEqualTo("1");
          assertThat(pragma(c, "busy_timeout")).isEqualTo("5000");
          assertThat(pragma(c, "synchronous")).isEqualTo("1"); // NORMAL
        }
      } finally {
        for (Connection c : held) {
          c.close();
        }
      }
    }
  }

  @Test
  void aDataDirectoryThatCannotBeCreatedIsUnavailable() throws Exception {
    Path file = Files.writeString(dataDir.resolve("not-a-dir"), "x");

    assertThatThrownBy(() -> Database.sqlite(file.resolve("sub")))
        .isInstanceOf(UnavailableException.class);
  }

  @Test
  void storesFailAsUnavailableOnceTheDatabaseIsClosed() {
    Database db = Database.sqlite(dataDir);
    var stores = Stores.open(db);
    db.close();

    assertThatThrownBy(() -> stores.jobs().countByState()).isInstanceOf(UnavailableException.class);
  }

  private static String pragma(Connection c, String name) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("PRAGMA " + name)) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static List<String> appliedMigrations(Database db) {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT version FROM flyway_schema_history WHERE success = 1 ORDER BY"
                    + " installed_rank")) {
      List<String> versions = new ArrayList<>();
      while (rs.next()) {
        versions.add(rs.getString(1));
      }
      return versions;
    } catch (SQLException e) {
      throw new AssertionError(e);
    }
  }
}
