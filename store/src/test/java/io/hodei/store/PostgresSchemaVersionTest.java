package io.hodei.store;

import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

class PostgresSchemaVersionTest extends SchemaVersionContract {
  private final String url = TestPostgres.freshDatabaseUrl();

  @Override
  protected Database open() {
    return Database.postgres(url, "postgres", "");
  }

  @Override
  protected DataSource direct() {
    PGSimpleDataSource postgres = new PGSimpleDataSource();
    postgres.setUrl(url);
    postgres.setUser("postgres");
    return postgres;
  }

  @Override
  protected Dialect dialect() {
    return Dialect.POSTGRESQL;
  }

  @Override
  protected String shown() {
    return url;
  }
}
