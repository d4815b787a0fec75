package io.hodei.server;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.Job;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.LogLine;
import io.hodei.api.v1.LogStreamServiceGrpc;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.api.v1.ShellCommand;
import io.hodei.api.v1.StreamLogsRequest;
import io.hodei.provider.local.LocalProcessProvider;
import io.hodei.server.provisioning.PoolPolicy;
import io.hodei.server.provisioning.Provisioner;
import io.hodei.store.Database;
import io.hodei.store.Stores;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real control plane for tests: SQLite in a temporary directory, gRPC on a free loopback port,
 * and the local-process provider starting real worker JVMs from this test's class path.
 */
final class TestControlPlane implements AutoCloseable {
  final Database database;
  final io.hodei.core.Storage stores;
  final HodeiServer server;
  final ManagedChannel channel;
  final LocalProcessProvider provider;

  TestControlPlane(Path dir, Clock clock, PoolPolicy policy) {
    this(dir, clock, policy, ServerConfig.defaults().withAnonymousRole(io.hodei.core.auth.Role.ADMIN).withPort(0), List.of());
  }

  /**
   * @param workerCommand the worker's command line; empty for a real worker JVM
   */
  TestControlPlane(Path dir, Clock clock, PoolPolicy policy, ServerConfig config, List<String> workerCommand) {
    this(dir, clock, policy, config, workerCommand, Provisioner.WorkerProfile.SHELL);
  }

  /** @param profile what the pool says its workers offer, as the scheduler sees them before they exist */
  TestControlPlane(
      Path dir, Clock clock, PoolPolicy policy, ServerConfig config, List<String> workerCommand, Provisioner.WorkerProfile profile) {
    database = Database.sqlite(dir.resolve("data"));
    stores = Stores.open(database);
    provider =
        new LocalProcessProvider(
            new LocalProcessProvider.Config(
                "local",
                workerCommand.isEmpty() ? workerCommand() : workerCommand,
                dir.resolve("workers"),
                Duration.ofSeconds(10),
                java.util.Map.of("HODEI_KILL_GRACE", "1s")));
    server =
        new HodeiServer(
                config,
                stores,
                List.of(new Provisioner.Pool(provider, policy, profile)),
                clock)
            .start();
    channel = NettyChannelBuilder.forTarget(server.address()).usePlaintext().build();
  }

  static TestControlPlane start(Path dir) {
    return new TestControlPlane(
        dir, Clock.systemUTC(), new PoolPolicy(4, Duration.ofMinutes(2), Duration.ofSeconds(60)));
  }

  static List<String> workerCommand() {
    return List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:+UseSerialGC",
        "-Xmx128m",
        "-cp",
        System.getProperty("java.class.path"),
        "io.hodei.worker.WorkerMain");
  }

  JobExecutionServiceGrpc.JobExecutionServiceBlockingStub jobs() {
    return JobExecutionServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  /** The unary worker calls, as the channel's caller (admin unless the config says otherwise). */
  io.hodei.api.v1.WorkerJobServiceGrpc.WorkerJobServiceBlockingStub workerJobs() {
    return io.hodei.api.v1.WorkerJobServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  String queue(JobDefinition definition) {
    return jobs().queueJob(QueueJobRequest.newBuilder().setDefinition(definition).build()).getJobId();
  }

  static JobDefinition shell(String cmd, String... args) {
    return JobDefinition.newBuilder()
        .setName(cmd)
        .setCommand(
            CommandSpec.newBuilder().setShell(ShellCommand.newBuilder().setCmd(cmd).addAllArgs(List.of(args))))
        .build();
  }

  Job get(String jobId) {
    return jobs().getJob(GetJobRequest.newBuilder().setJobId(jobId).build()).getJob();
  }

  /** Follows the job's log to its end; returns every line and the final state. */
  FollowedLog follow(String jobId) {
    return follow(channel, jobId);
  }

  /** As {@link #follow(String)}, calling as {@code caller}. */
  static FollowedLog follow(io.grpc.Channel caller, String jobId) {
    var lines = new ArrayList<LogLine>();
    JobState state = JobState.JOB_STATE_UNSPECIFIED;
    var responses =
        LogStreamServiceGrpc.newBlockingStub(caller)
            .withDeadlineAfter(90, TimeUnit.SECONDS)
            .streamLogs(StreamLogsRequest.newBuilder().setJobId(jobId).setFollow(true).build());
    while (responses.hasNext()) {
      var r = responses.next();
      lines.addAll(r.getLinesList());
      if (r.getFinalState() != JobState.JOB_STATE_UNSPECIFIED) {
        state = r.getFinalState();
      }
    }
    return new FollowedLog(lines, state);
  }

  record FollowedLog(List<LogLine> lines, JobState finalState) {
    List<String> text(io.hodei.api.v1.LogStream stream) {
      return lines.stream()
          .filter(l -> l.getStream() == stream)
          .map(l -> l.getData().toStringUtf8())
          .toList();
    }
  }

  @Override
  public void close() {
    channel.shutdownNow();
    server.close();
    database.close();
  }
}
