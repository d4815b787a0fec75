package io.hodei.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DatabaseUrlTest {

  @Test
  void blankIsTheEmbeddedSqlite() {
    assertThat(DatabaseUrl.parse("")).isEqualTo(DatabaseUrl.EMBEDDED);
    assertThat(DatabaseUrl.parse(null).embedded()).isTrue();
  }

  @Test
  void aPostgresUrlBecomesTheDriversUrlAndUser() {
    var url = DatabaseUrl.parse("postgresql://hodei@db.example:5433/jobs?sslmode=verify-full");

    assertThat(url.jdbcUrl()).contains("jdbc:postgresql://db.example:5433/jobs?sslmode=verify-full");
    assertThat(url.user()).isEqualTo("hodei");
    assertThat(url.shown()).isEqualTo("postgresql://hodei@db.example:5433/jobs");
    assertThat(DatabaseUrl.parse("postgres://db/jobs").jdbcUrl()).contains("jdbc:postgresql://db/jobs");
    assertThat(DatabaseUrl.parse("jdbc:postgresql://db:5432/jobs").user()).isEmpty();
    assertThat(DatabaseUrl.parse("postgresql://h%40dei@db/jobs").user()).isEqualTo("h@dei");
  }

  @Test
  void aPasswordInTheUrlIsRefusedWithoutEchoingIt() {
    for (String withPassword : new String[] {
        "postgresql://hodei:s3cret-pw@db/jobs", "postgresql://hodei@db/jobs?password=s3cret-pw", "jdbc:postgresql://db/jobs?ssl=true&PASSWORD=s3cret-pw"}) {
      assertThatThrownBy(() -> DatabaseUrl.parse(withPassword))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("HODEI_DATABASE_PASSWORD")
          .hasMessageNotContaining("s3cret-pw");
    }
  }

  @Test
  void otherMistakesAreNamed() {
    assertThatThrownBy(() -> DatabaseUrl.parse("mysql://db/jobs")).hasMessageContaining("'mysql:'");
    assertThatThrownBy(() -> DatabaseUrl.parse("db:5432/jobs")).hasMessageContaining("postgresql://USER@HOST:PORT/DATABASE");
    assertThatThrownBy(() -> DatabaseUrl.parse("postgresql://db:5432")).hasMessageContaining("names no database");
    assertThatThrownBy(() -> DatabaseUrl.parse("postgresql:///jobs")).hasMessageContaining("names no host");
    assertThatThrownBy(() -> DatabaseUrl.parse("postgresql://db/jobs?user=x")).hasMessageContaining("user before the host");
    assertThatThrownBy(() -> DatabaseUrl.parse("postgresql://db:port/jobs")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void theShownFormHasNoQuery() {
    assertThat(DatabaseUrl.parse("postgresql://db/jobs?sslkey=/x/key&sslmode=require").shown()).isEqualTo("postgresql://db/jobs");
  }
}
