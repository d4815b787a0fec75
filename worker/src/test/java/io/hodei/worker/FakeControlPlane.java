package io.hodei.worker;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.hodei.api.v1.Ack;
import io.hodei.api.v1.AckKind;
import io.hodei.api.v1.Attach;
import io.hodei.api.v1.CancelJobCommand;
import io.hodei.api.v1.JobResult;
import io.hodei.api.v1.JobStarted;
import io.hodei.api.v1.LogBatch;
import io.hodei.api.v1.LogLine;
import io.hodei.api.v1.LogStream;
import io.hodei.api.v1.RegisterRequest;
import io.hodei.api.v1.RegisterResponse;
import io.hodei.api.v1.RunJobCommand;
import io.hodei.api.v1.ServerMessage;
import io.hodei.api.v1.UnregisterRequest;
import io.hodei.api.v1.UnregisterResponse;
import io.hodei.api.v1.WorkerAgentServiceGrpc;
import io.hodei.api.v1.WorkerHeartbeat;
import io.hodei.api.v1.WorkerMessage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The server side of the worker protocol, under the test's control: a real gRPC server on
 * 127.0.0.1 that records everything the worker sends and lets the test send commands, hold back
 * acks, slow down, drop the stream, or forget sessions.
 *
 * <p>Log batches are acknowledged as the real server does: after each batch, {@code
 * ACK_KIND_LOG_BATCH} with the first sequence number of the execution it has not received yet
 * (duplicates count once), unless {@link #ackLogs} is off; {@link #resumeLogAcks()} turns it back
 * on and acknowledges what arrived meanwhile.
 */
final class FakeControlPlane implements AutoCloseable {
  static final String GOOD_TOKEN = "otp-good";

  /** One message from the worker, and the number (1, 2, ...) of the stream it came on. */
  record Received(int stream, WorkerMessage message) {}

  final List<RegisterRequest> registrations = new CopyOnWriteArrayList<>();
  final List<UnregisterRequest> unregistrations = new CopyOnWriteArrayList<>();
  final List<Received> received = new CopyOnWriteArrayList<>();
  final List<Attach> attaches = new CopyOnWriteArrayList<>();
  /** Registrations answered UNAVAILABLE before they are accepted. */
  final AtomicInteger unavailableRegistrations = new AtomicInteger();
  volatile Duration heartbeatInterval = Duration.ofMillis(200);
  volatile boolean ackResults = true;
  /** Whether log batches are acknowledged as they arrive. */
  volatile boolean ackLogs = true;
  /** How long the server takes over each stream message: with gRPC flow control, a slow peer. */
  volatile Duration delayPerMessage = Duration.ZERO;

  private final Server server;
  private final Set<String> sessions = ConcurrentHashMap.newKeySet();
  private final List<WorkerStream> streams = new CopyOnWriteArrayList<>();
  private final AtomicInteger sessionCounter = new AtomicInteger();
  /** Per execution, the sequence numbers received; guarded by itself. */
  private final Map<String, BitSet> sequencesReceived = new ConcurrentHashMap<>();

  private FakeControlPlane(int flowControlWindow) {
    NettyServerBuilder builder =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(new Service());
    if (flowControlWindow > 0) {
      builder.flowControlWindow(flowControlWindow);
    }
    try {
      server = builder.build().start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static FakeControlPlane start() {
    return new FakeControlPlane(0);
  }

  /** A server that accepts little data per stream before the worker must wait. */
  static FakeControlPlane startWithFlowControlWindow(int bytes) {
    return new FakeControlPlane(bytes);
  }

  String address() {
    return "127.0.0.1:" + server.getPort();
  }

  // ---- Commands to the worker ----

  void runJob(RunJobCommand command) {
    latestStream().send(ServerMessage.newBuilder().setRunJob(command).build());
  }

  void cancelJob(String executionId) {
    latestStream()
        .send(
            ServerMessage.newBuilder()
                .setCancelJob(
                    CancelJobCommand.newBuilder()
                        .setExecutionId(executionId)
                        .setReason("cancelled by the test"))
                .build());
  }

  void ackResult(String executionId) {
    latestStream().send(ack(executionId, AckKind.ACK_KIND_JOB_RESULT));
  }

  /** Acknowledges log batches again, starting with everything received while they were held. */
  void resumeLogAcks() {
    ackLogs = true;
    for (String executionId : sequencesReceived.keySet()) {
      latestStream().send(logAck(executionId, storedBelow(executionId)));
    }
  }

  /** Breaks the current stream the way a server restart or network failure would. */
  void dropStream() {
    latestStream().fail(Status.UNAVAILABLE.withDescription("dropped by the test"));
  }

  /** From now on every stream is ended right after it attached, as by a server whose store fails. */
  volatile boolean dropAfterAttach;

  /** From now on, re-attaching with an old session is refused. */
  void forgetSessions() {
    sessions.clear();
  }

  // ---- What the worker sent ----

  int attachCount() {
    return attaches.size();
  }

  List<WorkerMessage> messages() {
    return received.stream().map(Received::message).toList();
  }

  List<JobResult> results(String executionId) {
    return messages().stream()
        .filter(WorkerMessage::hasJobResult)
        .map(WorkerMessage::getJobResult)
        .filter(r -> r.getExecutionId().equals(executionId))
        .toList();
  }

  List<JobStarted> starts(String executionId) {
    return messages().stream()
        .filter(WorkerMessage::hasJobStarted)
        .map(WorkerMessage::getJobStarted)
        .filter(s -> s.getExecutionId().equals(executionId))
        .toList();
  }

  long logBatchCount(String executionId) {
    return messages().stream()
        .filter(m -> m.hasLogBatch() && m.getLogBatch().getExecutionId().equals(executionId))
        .count();
  }

  /** The first sequence number of the execution not received yet: all below it are here. */
  long storedBelow(String executionId) {
    BitSet received = sequencesReceived.get(executionId);
    if (received == null) {
      return 0;
    }
    synchronized (received) {
      return received.nextClearBit(0);
    }
  }

  /** The lines of an execution, one per sequence number, in sequence order (as stored). */
  List<LogLine> uniqueLines(String executionId) {
    Map<Long, LogLine> bySequence = new TreeMap<>();
    for (LogLine line : lines(executionId)) {
      bySequence.putIfAbsent(line.getSequence(), line);
    }
    return List.copyOf(bySequence.values());
  }

  /** All lines of an execution, in the order they arrived. */
  List<LogLine> lines(String executionId) {
    return messages().stream()
        .filter(m -> m.hasLogBatch() && m.getLogBatch().getExecutionId().equals(executionId))
        .flatMap(m -> m.getLogBatch().getLinesList().stream())
        .toList();
  }

  List<String> text(String executionId, LogStream stream) {
    return lines(executionId).stream()
        .filter(l -> l.getStream() == stream)
        .map(l -> l.getData().toString(StandardCharsets.UTF_8))
        .toList();
  }

  List<String> stdout(String executionId) {
    return text(executionId, LogStream.LOG_STREAM_STDOUT);
  }

  List<WorkerHeartbeat> heartbeats() {
    return messages().stream()
        .filter(WorkerMessage::hasHeartbeat)
        .map(WorkerMessage::getHeartbeat)
        .toList();
  }

  List<WorkerMessage> messagesOnStream(int stream) {
    return received.stream().filter(r -> r.stream() == stream).map(Received::message).toList();
  }

  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while stopping the fake control plane", e);
    }
  }

  private WorkerStream latestStream() {
    if (streams.isEmpty()) {
      throw new IllegalStateException("no worker stream yet");
    }
    return streams.getLast();
  }

  private static ServerMessage ack(String executionId, AckKind kind) {
    return ServerMessage.newBuilder()
        .setAck(Ack.newBuilder().setExecutionId(executionId).setKind(kind))
        .build();
  }

  private static ServerMessage logAck(String executionId, long storedBelow) {
    return ServerMessage.newBuilder()
        .setAck(
            Ack.newBuilder()
                .setExecutionId(executionId)
                .setKind(AckKind.ACK_KIND_LOG_BATCH)
                .setLogSequence(storedBelow))
        .build();
  }

  /** Stores a batch's sequence numbers; returns the execution's new {@link #storedBelow}. */
  private long store(LogBatch batch) {
    BitSet received =
        sequencesReceived.computeIfAbsent(batch.getExecutionId(), _ -> new BitSet());
    synchronized (received) {
      for (LogLine line : batch.getLinesList()) {
        received.set(Math.toIntExact(line.getSequence()));
      }
      return received.nextClearBit(0);
    }
  }

  private final class Service extends WorkerAgentServiceGrpc.WorkerAgentServiceImplBase {
    @Override
    public void register(RegisterRequest request, StreamObserver<RegisterResponse> responses) {
      registrations.add(request);
      if (unavailableRegistrations.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        responses.onError(Status.UNAVAILABLE.withDescription("not yet").asRuntimeException());
        return;
      }
      if (!request.getAuthToken().equals(GOOD_TOKEN)) {
        responses.onError(
            Status.UNAUTHENTICATED.withDescription("unknown token").asRuntimeException());
        return;
      }
      String session = "session-" + sessionCounter.incrementAndGet();
      sessions.add(session);
      responses.onNext(
          RegisterResponse.newBuilder()
              .setWorkerId(request.getWorkerInfo().getWorkerId())
              .setSessionId(session)
              .setHeartbeatInterval(
                  com.google.protobuf.Duration.newBuilder()
                      .setSeconds(heartbeatInterval.toSeconds())
                      .setNanos(heartbeatInterval.toNanosPart()))
              .build());
      responses.onCompleted();
    }

    @Override
    public StreamObserver<WorkerMessage> workerStream(StreamObserver<ServerMessage> responses) {
      WorkerStream stream =
          new WorkerStream(streams.size() + 1, (ServerCallStreamObserver<ServerMessage>) responses);
      streams.add(stream);
      return stream;
    }

    @Override
    public void unregister(
        UnregisterRequest request, StreamObserver<UnregisterResponse> responses) {
      unregistrations.add(request);
      responses.onNext(UnregisterResponse.getDefaultInstance());
      responses.onCompleted();
    }
  }

  /** One worker stream. Sends are synchronized: gRPC observers are not thread-safe. */
  private final class WorkerStream implements StreamObserver<WorkerMessage> {
    private final int number;
    private final ServerCallStreamObserver<ServerMessage> responses;
    private volatile boolean attached;
    private boolean closed;

    WorkerStream(int number, ServerCallStreamObserver<ServerMessage> responses) {
      this.number = number;
      this.responses = responses;
    }

    synchronized void send(ServerMessage message) {
      if (!closed) {
        responses.onNext(message);
      }
    }

    synchronized void fail(Status status) {
      if (!closed) {
        closed = true;
        responses.onError(status.asRuntimeException());
      }
    }

    @Override
    public void onNext(WorkerMessage message) {
      Duration delay = delayPerMessage;
      if (!delay.isZero()) {
        try {
          Thread.sleep(delay);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while playing a slow server", e);
        }
      }
      if (!attached) {
        if (!message.hasAttach()) {
          fail(Status.FAILED_PRECONDITION.withDescription("attach first"));
          return;
        }
        attaches.add(message.getAttach());
        if (!sessions.contains(message.getAttach().getSessionId())) {
          fail(Status.UNAUTHENTICATED.withDescription("unknown session"));
          return;
        }
        attached = true;
        received.add(new Received(number, message));
        send(ack("", AckKind.ACK_KIND_ATTACHED));
        if (dropAfterAttach) {
          fail(Status.UNAVAILABLE.withDescription("store failing (played by the test)"));
        }
        return;
      }
      received.add(new Received(number, message));
      if (message.hasLogBatch()) {
        long storedBelow = store(message.getLogBatch());
        if (ackLogs) {
          send(logAck(message.getLogBatch().getExecutionId(), storedBelow));
        }
      }
      if (message.hasJobResult() && ackResults) {
        send(ack(message.getJobResult().getExecutionId(), AckKind.ACK_KIND_JOB_RESULT));
      }
    }

    @Override
    public void onError(Throwable t) {
      synchronized (this) {
        closed = true;
      }
    }

    @Override
    public synchronized void onCompleted() {
      if (!closed) {
        closed = true;
        responses.onCompleted();
      }
    }
  }
}
