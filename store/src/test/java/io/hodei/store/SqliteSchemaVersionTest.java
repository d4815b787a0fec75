package io.hodei.store;

import java.nio.file.Path;
import javax.sql.DataSource;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteDataSource;

class SqliteSchemaVersionTest extends SchemaVersionContract {
  @TempDir Path dataDir;

  @Override
  protected Database open() {
    return Database.sqlite(dataDir);
  }

  @Override
  protected DataSource direct() {
    SQLiteDataSource sqlite = new SQLiteDataSource();
    sqlite.setUrl("jdbc:sqlite:" + file());
    return sqlite;
  }

  @Override
  protected Dialect dialect() {
    return Dialect.SQLITE;
  }

  @Override
  protected String shown() {
    return file().toString();
  }

  private Path file() {
    return dataDir.toAbsolutePath().resolve(Database.SQLITE_FILE_NAME);
  }
}
