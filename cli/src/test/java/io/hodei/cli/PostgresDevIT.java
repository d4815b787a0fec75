package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.QueueJobRequest;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hodei dev --database-url} on a real PostgreSQL server (zonky's, from Maven Central) that
 * asks for a password: jobs are stored there and outlive a restart, and each wrong setting is
 * refused at start with a message that names it and never echoes the password.
 */
class PostgresDevIT {
  private static final String PASSWORD = "pg-s3cret-for-tests";
  @TempDir static Path pgDir;
  static EmbeddedPostgres postgres;
  @TempDir Path dir;

  @BeforeAll
  static void startPostgres() throws Exception {
    postgres = EmbeddedPostgres.builder().setDataDirectory(pgDir.resolve("pg")).setCleanDataDirectory(true)
        .setPgBinaryResolver(DevPostgres.BINARIES).start();
    try (var c = postgres.getPostgresDatabase().getConnection(); var st = c.createStatement()) {
      st.execute("ALTER USER postgres PASSWORD '" + PASSWORD + "'");
      // From here on every connection must bring the password.
      Files.writeString(pgDir.resolve("pg/pg_hba.conf"),
          "local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n");
      st.execute("SELECT pg_reload_conf()");
    }
  }

  @AfterAll
  static void stopPostgres() throws Exception {
    postgres.close();
  }

  private static String url() {
    return "postgresql://postgres@localhost:" + postgres.getPort() + "/postgres";
  }

  @Test
  void jobsAreStoredInPostgresAndOutliveARestart() throws Exception {
    Path data = dir.resolve("data");
    var server = new ServerProcess(data, List.of("--database-url", url()), Map.of("HODEI_DATABASE_PASSWORD", PASSWORD));
    String id;
    try (var started = server.start(); var channel = new AutoCloseableChannel(started.channel())) {
      assertThat(started.output.stream().filter(l -> l.contains("ready on")).findFirst().orElseThrow())
          .contains("database: " + url());
      var jobs = JobExecutionServiceGrpc.newBlockingStub(channel.channel()).withDeadlineAfter(20, TimeUnit.SECONDS);
      id = jobs.queueJob(QueueJobRequest.newBuilder().setDefinition(io.hodei.api.v1.JobDefinition.newBuilder().setName("pg")
          .setCommand(io.hodei.api.v1.CommandSpec.newBuilder().setShell(io.hodei.api.v1.ShellCommand.newBuilder().setCmd("echo").addArgs("on postgres"))).build()).build()).getJobId();
      await().atMost(Duration.ofSeconds(60)).until(() ->
          JobExecutionServiceGrpc.newBlockingStub(channel.channel()).withDeadlineAfter(20, TimeUnit.SECONDS)
              .getJob(GetJobRequest.newBuilder().setJobId(id).build()).getJob().getState() == JobState.JOB_STATE_SUCCEEDED);
    }
    assertThat(data.resolve("hodei.db")).doesNotExist();
    try (var c = DriverManager.getConnection("jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres", "postgres", PASSWORD);
        var ps = c.prepareStatement("SELECT state FROM jobs WHERE id = ?")) {
      ps.setString(1, id);
      try (var rs = ps.executeQuery()) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString(1)).isEqualTo("SUCCEEDED");
      }
    }
    try (var again = server.start(); var channel = new AutoCloseableChannel(again.channel())) {
      assertThat(JobExecutionServiceGrpc.newBlockingStub(channel.channel()).withDeadlineAfter(20, TimeUnit.SECONDS)
          .getJob(GetJobRequest.newBuilder().setJobId(id).build()).getJob().getState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    }
  }

  private HodeiRunIT.Result dev(String... args) {
    var all = new java.util.ArrayList<>(List.of("dev", "--port", "0", "--data-dir", dir.resolve("data").toString()));
    all.addAll(List.of(args));
    return HodeiRunIT.hodei(all.toArray(String[]::new));
  }

  @Test
  void aPasswordInTheUrlIsRefusedWithoutEchoingIt() {
    var result = dev("--database-url", "postgresql://postgres:" + PASSWORD + "@localhost:" + postgres.getPort() + "/postgres");

    assertThat(result.exitCode()).isEqualTo(64);
    assertThat(result.stderr()).contains("HODEI_DATABASE_PASSWORD").doesNotContain(PASSWORD);
  }

  @Test
  void aWrongPasswordIsRefusedNamingTheDatabase() throws Exception {
    Path file = Files.writeString(dir.resolve("wrong"), "not-the-password\n");

    var result = dev("--database-url", url(), "--database-password-file", file.toString());

    assertThat(result.exitCode()).isEqualTo(HodeiCli.EX_UNAVAILABLE);
    assertThat(result.stderr()).contains("localhost:" + postgres.getPort()).contains("password authentication failed")
        .doesNotContain("not-the-password");
  }

  @Test
  void anUnreachableDatabaseIsRefusedNamingIt() throws Exception {
    int closed;
    try (var socket = new java.net.ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    Path file = Files.writeString(dir.resolve("pw"), PASSWORD);

    var result = dev("--database-url", "postgresql://postgres@localhost:" + closed + "/postgres", "--database-password-file", file.toString());

    assertThat(result.exitCode()).isEqualTo(HodeiCli.EX_UNAVAILABLE);
    assertThat(result.stderr()).contains("localhost:" + closed).containsIgnoringCase("refused");
  }

  @Test
  void aDatabaseANewerHodeiMigratedIsRefusedNamingItAndBothVersions() throws Exception {
    String jdbc = "jdbc:postgresql://localhost:" + postgres.getPort() + "/newer";
    try (var c = DriverManager.getConnection("jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres", "postgres", PASSWORD);
        var st = c.createStatement()) {
      st.execute("CREATE DATABASE newer");
    }
    io.hodei.store.Database.postgres(jdbc, "postgres", PASSWORD).close();
    try (var c = DriverManager.getConnection(jdbc, "postgres", PASSWORD); var st = c.createStatement()) {
      st.execute("INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum,"
          + " installed_by, execution_time, success) VALUES (99, '99', 'from a newer hodei', 'SQL',"
          + " 'V99__from_a_newer_hodei.sql', 0, 'postgres', 0, true)");
    }
    Path file = Files.writeString(dir.resolve("pw"), PASSWORD);

    var result = dev("--database-url", "postgresql://postgres@localhost:" + postgres.getPort() + "/newer",
        "--database-password-file", file.toString());

    assertThat(result.exitCode()).isEqualTo(HodeiCli.EX_UNAVAILABLE);
    assertThat(result.stderr()).contains("localhost:" + postgres.getPort() + "/newer")
        .contains("the database schema is at version 99, newer than this binary knows (")
        .contains("upgrade hodei, or use a database this version made");
  }

  @Test
  void aMalformedUrlOrAPasswordWithoutADatabaseIsRefused() throws Exception {
    assertThat(dev("--database-url", "mysql://db/jobs").stderr()).contains("use postgresql://USER@HOST:PORT/DATABASE");
    Path file = Files.writeString(dir.resolve("pw"), PASSWORD);
    var noUrl = dev("--database-password-file", file.toString());
    assertThat(noUrl.exitCode()).isEqualTo(64);
    assertThat(noUrl.stderr()).contains("no --database-url");
  }

  private record AutoCloseableChannel(io.grpc.ManagedChannel channel) implements AutoCloseable {
    @Override
    public void close() {
      channel.shutdownNow();
    }
  }

  @Test
  void aSecondControlPlaneWithALiveReplicasIdIsRefusedNamingItAndChangesNothing() throws Exception {
    String jdbc = "jdbc:postgresql://localhost:" + postgres.getPort() + "/twins";
    try (var c = DriverManager.getConnection("jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres", "postgres", PASSWORD);
        var st = c.createStatement()) {
      st.execute("CREATE DATABASE twins");
    }
    String twins = "postgresql://postgres@localhost:" + postgres.getPort() + "/twins";
    var first = new ServerProcess(dir.resolve("first"), List.of("--database-url", twins, "--replica-id", "cp-1"),
        Map.of("HODEI_DATABASE_PASSWORD", PASSWORD));
    try (var started = first.start()) {
      Path file = Files.writeString(dir.resolve("pw"), PASSWORD);
      var result = HodeiRunIT.hodei("dev", "--port", "0", "--data-dir", dir.resolve("second").toString(),
          "--database-url", twins, "--database-password-file", file.toString(), "--replica-id", "cp-1");

      assertThat(result.exitCode()).isEqualTo(HodeiCli.EX_UNAVAILABLE);
      assertThat(result.stderr()).contains("replica id cp-1 is in use by a live replica at " + started.address())
          .contains("--replica-id");
      try (var c = DriverManager.getConnection(jdbc, "postgres", PASSWORD);
          var st = c.createStatement();
          var rs = st.executeQuery("SELECT pid FROM replicas WHERE id = 'cp-1'")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getLong(1)).isEqualTo(started.handle().pid());
      }
    }
  }
}
