package io.hodei.bench;

import com.google.protobuf.Timestamp;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.hodei.api.v1.Ack;
import io.hodei.api.v1.AckKind;
import io.hodei.api.v1.Attach;
import io.hodei.api.v1.JobOutcome;
import io.hodei.api.v1.JobResult;
import io.hodei.api.v1.JobStarted;
import io.hodei.api.v1.RegisterRequest;
import io.hodei.api.v1.RegisterResponse;
import io.hodei.api.v1.RunJobCommand;
import io.hodei.api.v1.ServerMessage;
import io.hodei.api.v1.WorkerAgentServiceGrpc;
import io.hodei.api.v1.WorkerHeartbeat;
import io.hodei.api.v1.WorkerInfo;
import io.hodei.api.v1.WorkerMessage;
import io.hodei.api.v1.WorkerStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Lightweight simulated workers: each one registers with the OTP its provider was given, attaches
 * a {@code WorkerStream}, heartbeats at the interval the server asked for, and answers every
 * {@code run_job} at once with an acknowledgement, a start report and a successful result. There
 * is no thread per worker: streams share a few channels, heartbeats share one scheduler thread,
 * and answers run on the gRPC threads.
 *
 * <p>Thread-safe. Invariant: a worker's outbound stream is only written under that worker's own
 * monitor, because {@link StreamObserver} is not thread-safe and both the heartbeat thread and
 * the gRPC threads write to it.
 */
final class SimFleet implements AutoCloseable {
  private static final int CHANNELS = 8;
  private static final int REGISTRATIONS_IN_FLIGHT = 32;

  private final List<ManagedChannel> channels = new ArrayList<>();
  private final ScheduledExecutorService heartbeats =
      Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("sim-heartbeats").unstarted(r));
  private final Semaphore registering = new Semaphore(REGISTRATIONS_IN_FLIGHT);
  private final Map<String, CompletableFuture<Long>> arrivals = new ConcurrentHashMap<>();
  private final List<SimWorker> workers = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final AtomicInteger attached = new AtomicInteger();
  private final AtomicLong heartbeatsSent = new AtomicLong();
  private final AtomicLong jobsRun = new AtomicLong();
  private final AtomicReference<String> failure = new AtomicReference<>();
  private final AtomicInteger next = new AtomicInteger();

  SimFleet(String address) {
    for (int i = 0; i < CHANNELS; i++) {
      channels.add(NettyChannelBuilder.forTarget(address).usePlaintext().build());
    }
  }

  /**
   * Starts a worker the server's provider launched: registers it, then attaches its stream. Blocks
   * only while {@value #REGISTRATIONS_IN_FLIGHT} registrations are already under way.
   */
  void launch(String workerId, String otp) throws InterruptedException {
    registering.acquire();
    var channel = channels.get(Math.floorMod(next.getAndIncrement(), CHANNELS));
    var info =
        WorkerInfo.newBuilder()
            .setWorkerId(workerId)
            .setName(workerId)
            .setVersion("sim")
            .setHostname("sim-" + workerId)
            .setIpAddress("127.0.0.1")
            .addCapabilities("shell")
            .addCapabilities("script")
            .build();
    WorkerAgentServiceGrpc.newStub(channel)
        .register(
            RegisterRequest.newBuilder().setAuthToken(otp).setWorkerInfo(info).build(),
            new StreamObserver<>() {
              @Override
              public void onNext(RegisterResponse response) {
                var worker = new SimWorker(workerId, channel, response);
                workers.add(worker);
                worker.attach();
              }

              @Override
              public void onError(Throwable t) {
                registering.release();
                failure.compareAndSet(null, "worker " + workerId + " could not register: " + t);
              }

              @Override
              public void onCompleted() {
                registering.release();
              }
            });
  }

  /** Streams attached and acknowledged by the server. */
  int attached() {
    return attached.get();
  }

  long heartbeatsSent() {
    return heartbeatsSent.get();
  }

  long jobsRun() {
    return jobsRun.get();
  }

  /** The first thing that went wrong with a simulated worker, if anything did. */
  java.util.Optional<String> failure() {
    return java.util.Optional.ofNullable(failure.get());
  }

  /** Completes with {@link System#nanoTime()} when run_job for {@code jobId} reaches a worker. */
  CompletableFuture<Long> arrivalOf(String jobId) {
    return arrivals.computeIfAbsent(jobId, k -> new CompletableFuture<>());
  }

  /** Forgets arrivals already consumed, so that a long run does not hoard them. */
  void forget(String jobId) {
    arrivals.remove(jobId);
  }

  /** Waits until {@code count} streams are attached; fails on the first worker failure. */
  void awaitAttached(int count, Duration timeout) throws InterruptedException {
    Instant deadline = Instant.now().plus(timeout);
    while (attached.get() < count) {
      if (failure.get() != null) {
        throw new BenchFailure(failure.get());
      }
      if (Instant.now().isAfter(deadline)) {
        throw new BenchFailure(count + " attached workers expected, " + attached.get() + " after " + timeout);
      }
      Thread.sleep(50);
    }
  }

  @Override
  public void close() throws InterruptedException {
    heartbeats.shutdownNow();
    for (SimWorker w : workers) {
      w.close();
    }
    for (ManagedChannel c : channels) {
      c.shutdownNow();
    }
    for (ManagedChannel c : channels) {
      c.awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static Timestamp now() {
    Instant t = Instant.now();
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }

  /** One simulated worker: one stream, no thread of its own. */
  private final class SimWorker implements StreamObserver<ServerMessage> {
    private final String id;
    private final ManagedChannel channel;
    private final RegisterResponse session;
    private final Duration interval;
    private StreamObserver<WorkerMessage> out; // guarded by this
    private boolean closed; // guarded by this
    private volatile boolean isAttached;

    SimWorker(String id, ManagedChannel channel, RegisterResponse session) {
      this.id = id;
      this.channel = channel;
      this.session = session;
      var hb = session.getHeartbeatInterval();
      this.interval = Duration.ofSeconds(hb.getSeconds(), hb.getNanos());
    }

    synchronized void attach() {
      out = WorkerAgentServiceGrpc.newStub(channel).workerStream(this);
      out.onNext(
          WorkerMessage.newBuilder()
              .setAttach(Attach.newBuilder().setWorkerId(id).setSessionId(session.getSessionId()))
              .build());
    }

    private synchronized void send(WorkerMessage message) {
      if (!closed) {
        out.onNext(message);
      }
    }

    private void heartbeat() {
      send(
          WorkerMessage.newBuilder()
              .setHeartbeat(WorkerHeartbeat.newBuilder().setStatus(WorkerStatus.WORKER_STATUS_READY).setAt(now()))
              .build());
      heartbeatsSent.incrementAndGet();
    }

    @Override
    public void onNext(ServerMessage message) {
      switch (message.getPayloadCase()) {
        case ACK -> {
          if (message.getAck().getKind() == AckKind.ACK_KIND_ATTACHED && !isAttached) {
            isAttached = true;
            attached.incrementAndGet();
            long millis = Math.max(1, interval.toMillis());
            // Spread over the interval, as workers that started at different times would be.
            heartbeats.scheduleAtFixedRate(
                this::heartbeat, ThreadLocalRandom.current().nextLong(millis), millis, TimeUnit.MILLISECONDS);
          }
        }
        case RUN_JOB -> run(message.getRunJob());
        case CANCEL_JOB, KEEP_ALIVE, PAYLOAD_NOT_SET -> {}
      }
    }

    private void run(RunJobCommand command) {
      long arrived = System.nanoTime();
      arrivalOf(command.getJobId()).complete(arrived);
      String execution = command.getExecutionId();
      Timestamp at = now();
      send(
          WorkerMessage.newBuilder()
              .setAck(Ack.newBuilder().setExecutionId(execution).setKind(AckKind.ACK_KIND_RUN_JOB))
              .build());
      send(
          WorkerMessage.newBuilder()
              .setJobStarted(
                  JobStarted.newBuilder().setJobId(command.getJobId()).setExecutionId(execution).setStartedAt(at))
              .build());
      send(
          WorkerMessage.newBuilder()
              .setJobResult(
                  JobResult.newBuilder()
                      .setJobId(command.getJobId())
                      .setExecutionId(execution)
                      .setOutcome(JobOutcome.JOB_OUTCOME_EXITED)
                      .setExitCode(0)
                      .setStartedAt(at)
                      .setFinishedAt(now()))
              .build());
      jobsRun.incrementAndGet();
    }

    @Override
    public void onError(Throwable t) {
      if (!closedNow()) {
        failure.compareAndSet(null, "stream of worker " + id + " failed: " + t);
      }
    }

    @Override
    public void onCompleted() {
      if (!closedNow()) {
        failure.compareAndSet(null, "server closed the stream of worker " + id);
      }
    }

    private synchronized boolean closedNow() {
      return closed;
    }

    synchronized void close() {
      if (!closed && out != null) {
        closed = true;
        try {
          out.onCompleted();
        } catch (RuntimeException e) {
          // the channel is going away anyway
        }
      }
    }
  }
}
