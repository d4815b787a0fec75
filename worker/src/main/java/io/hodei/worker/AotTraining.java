package io.hodei.worker;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.hodei.api.v1.Ack;
import io.hodei.api.v1.AckKind;
import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.RegisterRequest;
import io.hodei.api.v1.RegisterResponse;
import io.hodei.api.v1.RunJobCommand;
import io.hodei.api.v1.ScriptCommand;
import io.hodei.api.v1.ServerMessage;
import io.hodei.api.v1.ShellCommand;
import io.hodei.api.v1.UnregisterRequest;
import io.hodei.api.v1.UnregisterResponse;
import io.hodei.api.v1.WorkerAgentServiceGrpc;
import io.hodei.api.v1.WorkerMessage;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training run for a worker's ahead-of-time class cache (JDK 25, JEP 483/514/515): a real
 * {@link WorkerAgent} goes through what a worker does when it starts and takes its first jobs,
 * registering, attaching its stream, running a command and a script, reporting output and
 * results, unregistering, against a control plane of its own on 127.0.0.1 that only plays the
 * protocol. The JVM running it has {@code -XX:AOTCacheOutput=FILE} and writes the cache at exit.
 *
 * <p>Started as a worker is ({@link WorkerMain}, or {@code hodei worker}) with {@value #ENV} set to
 * {@code 1}, so that the training run's JVM options, class path and entry point are exactly a
 * worker's; needs no server, no network beyond loopback, and nothing else from the environment,
 * so that an image build can run it too.
 */
public final class AotTraining {
  /** Set to {@code 1}, {@code hodei worker} runs this training instead of a worker. */
  public static final String ENV = "HODEI_WORKER_AOT_TRAINING";

  private static final Logger log = LoggerFactory.getLogger(AotTraining.class);
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  private AotTraining() {}

  public static boolean requested(Map<String, String> env) {
    return "1".equals(env.get(ENV));
  }

  /** Runs the training; 0 when the worker went through all of it. */
  public static int run() {
    List<RunJobCommand> jobs =
        List.of(
            job("train-1", CommandSpec.newBuilder().setShell(ShellCommand.newBuilder().setCmd("true")).build()),
            job(
                "train-2",
                CommandSpec.newBuilder()
                    .setScript(ScriptCommand.newBuilder().setInterpreter("sh").setContent("echo trained; echo err >&2"))
                    .build()));
    CountDownLatch results = new CountDownLatch(jobs.size());
    Server server;
    try {
      server =
          NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
              .addService(new Service(jobs, results))
              .build()
              .start();
    } catch (IOException e) {
      log.warn("AOT training: cannot listen on 127.0.0.1: {}", e.toString());
      return 1;
    }
    WorkerConfig config =
        WorkerConfig.of("aot-training", "127.0.0.1:" + server.getPort(), "w-aot-training")
            .withDrainTimeout(Duration.ZERO)
            .withKillGracePeriod(Duration.ofSeconds(1));
    WorkerAgent agent = new WorkerAgent(config);
    try {
      agent.start();
      boolean done = results.await(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      agent.shutdown();
      agent.awaitTermination(Duration.ofSeconds(20));
      if (!done) {
        log.warn("AOT training: the worker did not finish its jobs within {}", TIMEOUT);
      }
      return done ? 0 : 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      agent.shutdown();
      return 1;
    } finally {
      server.shutdownNow();
    }
  }

  private static RunJobCommand job(String id, CommandSpec command) {
    return RunJobCommand.newBuilder()
        .setJobId(id)
        .setExecutionId(id + "-x")
        .setAttempt(1)
        .setCommand(command)
        .putEnv("HODEI_TRAINING", "1")
        .setTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(30))
        .build();
  }

  private static ServerMessage ack(String execution, AckKind kind, long sequence) {
    return ServerMessage.newBuilder()
        .setAck(Ack.newBuilder().setExecutionId(execution).setKind(kind).setLogSequence(sequence))
        .build();
  }

  /** Just enough of the control plane: a session, a stream, the jobs, acks for everything. */
  private static final class Service extends WorkerAgentServiceGrpc.WorkerAgentServiceImplBase {
    private final List<RunJobCommand> jobs;
    private final CountDownLatch results;

    Service(List<RunJobCommand> jobs, CountDownLatch results) {
      this.jobs = jobs;
      this.results = results;
    }

    @Override
    public void register(RegisterRequest request, StreamObserver<RegisterResponse> responses) {
      responses.onNext(
          RegisterResponse.newBuilder()
              .setWorkerId(request.getWorkerInfo().getWorkerId())
              .setSessionId("aot-training")
              .setHeartbeatInterval(com.google.protobuf.Duration.newBuilder().setNanos(200_000_000))
              .build());
      responses.onCompleted();
    }

    @Override
    public StreamObserver<WorkerMessage> workerStream(StreamObserver<ServerMessage> responses) {
      return new StreamObserver<>() {
        private final Map<String, Long> logged = new java.util.HashMap<>();

        @Override
        public void onNext(WorkerMessage message) {
          synchronized (this) {
            if (message.hasAttach()) {
              responses.onNext(ack("", AckKind.ACK_KIND_ATTACHED, 0));
              for (RunJobCommand job : jobs) {
                responses.onNext(ServerMessage.newBuilder().setRunJob(job).build());
              }
            } else if (message.hasLogBatch()) {
              var batch = message.getLogBatch();
              long below = logged.getOrDefault(batch.getExecutionId(), 0L);
              for (var line : batch.getLinesList()) {
                below = Math.max(below, line.getSequence() + 1);
              }
              logged.put(batch.getExecutionId(), below);
              responses.onNext(ack(batch.getExecutionId(), AckKind.ACK_KIND_LOG_BATCH, below));
            } else if (message.hasJobResult()) {
              responses.onNext(ack(message.getJobResult().getExecutionId(), AckKind.ACK_KIND_JOB_RESULT, 0));
              results.countDown();
            }
          }
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public synchronized void onCompleted() {
          responses.onCompleted();
        }
      };
    }

    @Override
    public void unregister(UnregisterRequest request, StreamObserver<UnregisterResponse> responses) {
      responses.onNext(UnregisterResponse.getDefaultInstance());
      responses.onCompleted();
    }
  }
}
