package io.hodei.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.core.error.UnavailableException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * A database whose schema a newer hodei migrated (here: this build's migrations plus the test-only
 * {@code db/newer/V99}) is refused at open, naming the database and both versions, and left exactly
 * as it was. Run against every dialect.
 */
abstract class SchemaVersionContract {
  /** The newest migration under {@code db/migration}. */
  static final String CURRENT_VERSION = "13";

  /** Opens the database under test as hodei does; the same database at every call. */
  protected abstract Database open();

  /** A connection source to the same database that bypasses {@link Database}. */
  protected abstract DataSource direct();

  protected abstract Dialect dialect();

  /** The database as messages name it. */
  protected abstract String shown();

  @Test
  void aDatabaseANewerBinaryMigratedIsRefusedAndLeftAsItWas() {
    migrateAsANewerBinary();

    assertRefusedAndUntouched();
  }

  @Test
  void aDatabaseWhereANewerBinaryFailedAMigrationIsRefusedAndLeftAsItWas() throws SQLException {
    migrateAsANewerBinary();
    try (Connection c = direct().getConnection();
        var ps = c.prepareStatement("UPDATE flyway_schema_history SET success = ? WHERE version = '99'")) {
      ps.setBoolean(1, false);
      assertThat(ps.executeUpdate()).isEqualTo(1);
    }

    assertRefusedAndUntouched();
  }

  @Test
  void aDatabaseAtThisBinarysVersionOpensAgain() {
    open().close();

    open().close();

    assertThat(history()).hasSize(Integer.parseInt(CURRENT_VERSION));
  }

  private void migrateAsANewerBinary() {
    Database.migrations(direct(), dialect())
        .locations("classpath:db/migration", "classpath:db/newer")
        .load()
        .migrate();
  }

  private void assertRefusedAndUntouched() {
    List<String> before = history();
    assertThat(before).last().asString().contains("|99|");

    assertThatThrownBy(this::open)
        .isInstanceOf(UnavailableException.class)
        .hasMessage(
            "cannot open the " + dialect() + " database " + shown()
                + ": the database schema is at version 99, newer than this binary knows ("
                + CURRENT_VERSION + "): upgrade hodei, or use a database this version made");

    assertThat(history()).isEqualTo(before);
  }

  /** Every row of the schema history, in order, as text. */
  private List<String> history() {
    return SqlRows.of(
        direct(),
        "SELECT installed_rank, version, description, type, script, checksum, installed_on, success"
            + " FROM flyway_schema_history ORDER BY installed_rank");
  }
}
