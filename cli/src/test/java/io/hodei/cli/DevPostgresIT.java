package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a job on this host could reach of the embedded PostgreSQL of {@code hodei dev --replicas}:
 * a real server from zonky's binaries. Without its password, or with a wrong one, no connection is
 * taken, over TCP or the local socket; the password file and the data directory are the owner's
 * alone; the server listens on loopback only.
 */
class DevPostgresIT {
  @TempDir Path dir;
  private DevPostgres postgres;

  @AfterEach
  void stop() {
    if (postgres != null) {
      postgres.close();
    }
  }

  private String jdbc() {
    return "jdbc:postgresql://127.0.0.1:" + postgres.port() + "/" + DevPostgres.DATABASE;
  }

  private static Properties as(String user, String password) {
    var properties = new Properties();
    properties.setProperty("user", user);
    if (password != null) {
      properties.setProperty("password", password);
    }
    return properties;
  }

  @Test
  void aConnectionWithoutThePasswordOrWithAWrongOneIsRefusedAndTheRightOneIsTaken() throws Exception {
    postgres = DevPostgres.start(dir.resolve("data"));
    String password = Files.readString(postgres.passwordFile()).strip();

    var none = catchThrowableOfType(SQLException.class, () -> DriverManager.getConnection(jdbc(), as("postgres", null)));
    assertThat((Throwable) none).as("no password").isNotNull();
    assertThat(none.getMessage()).containsIgnoringCase("password");
    var wrong = catchThrowableOfType(SQLException.class, () -> DriverManager.getConnection(jdbc(), as("postgres", "not-it")));
    assertThat((Throwable) wrong).as("a wrong password").isNotNull();
    assertThat(wrong.getSQLState()).isEqualTo("28P01"); // invalid_password
    var otherUser = catchThrowableOfType(SQLException.class, () -> DriverManager.getConnection(jdbc(), as("job", password)));
    assertThat((Throwable) otherUser).as("another role, even with the password").isNotNull();

    try (var c = DriverManager.getConnection(jdbc(), as("postgres", password)); var st = c.createStatement();
        var rs = st.executeQuery("SHOW listen_addresses")) {
      rs.next();
      assertThat(rs.getString(1)).isEqualTo("127.0.0.1");
    }
  }

  @Test
  void theLocalSocketAsksForThePasswordToo() throws Exception {
    postgres = DevPostgres.start(dir.resolve("data"));
    String socketDir;
    try (var c = DriverManager.getConnection(jdbc(), as("postgres", Files.readString(postgres.passwordFile()).strip()));
        var st = c.createStatement(); var rs = st.executeQuery("SHOW unix_socket_directories")) {
      rs.next();
      socketDir = rs.getString(1).split(",")[0].strip();
    }
    assertThat(socketDir).as("the server has a local socket").isNotEmpty();

    // psql (postgresql-client, which .ci/run installs) never prompts (-w) and has no password file.
    var builder = new ProcessBuilder("psql", "-w", "-h", socketDir, "-p", Integer.toString(postgres.port()),
            "-U", "postgres", "-d", DevPostgres.DATABASE, "-c", "SELECT 1")
        .redirectErrorStream(true);
    builder.environment().remove("PGPASSWORD");
    builder.environment().put("PGPASSFILE", "/dev/null");
    var process = builder.start();
    process.getOutputStream().close();
    String said = new String(process.getInputStream().readAllBytes());
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();

    assertThat(process.exitValue()).as("psql over the socket without a password: " + said).isNotZero();
    assertThat(said).containsIgnoringCase("password");
  }

  @Test
  void thePasswordFileAndTheClusterAreTheOwnersAlone() throws Exception {
    Path data = dir.resolve("data");
    postgres = DevPostgres.start(data);

    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(postgres.passwordFile()))).isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data))).isEqualTo("rwx------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve(DevPostgres.DIRECTORY))))
        .isEqualTo("rwx------");
  }
}
