package io.hodei.worker;

import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.hodei.api.v1.Ack;
import io.hodei.api.v1.AckKind;
import io.hodei.api.v1.Attach;
import io.hodei.api.v1.CancelJobCommand;
import io.hodei.api.v1.RunJobCommand;
import io.hodei.api.v1.ServerMessage;
import io.hodei.api.v1.WorkerAgentServiceGrpc;
import io.hodei.api.v1.WorkerMessage;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code WorkerStream} call: the worker's side of one attached (or attaching) stream.
 *
 * <p>Outbound, the {@link Outbox}'s sender thread is the only caller of {@link #isReady}, {@link
 * #write} and {@link #end}; nothing else touches the request observer after {@link #beforeStart}.
 * Inbound, gRPC calls the observer methods one at a time; they never block: jobs are handed to the
 * {@link Inbound} handler, which starts them on threads of their own.
 *
 * <p>{@link #attached()} completes when the server acknowledges the attach; {@link #ended()}
 * completes, with the final status, when the call is over for any reason. The fields {@code
 * control}, {@code replay}, {@code isAttached} and {@code isEnded} belong to the outbox and are
 * guarded by its lock.
 */
final class StreamSession implements ClientResponseObserver<WorkerMessage, ServerMessage> {
  private static final Logger log = LoggerFactory.getLogger(StreamSession.class);

  /** What the worker does with the server's commands. Called on gRPC threads: must not block. */
  interface Inbound {
    void runJob(StreamSession from, RunJobCommand command);

    void cancelJob(CancelJobCommand command);

    /** The control plane's replicas now, the sending one first. */
    void replicas(io.hodei.api.v1.ReplicaList list);
  }

  private final Outbox outbox;
  private final Inbound inbound;
  private final int number;
  private final CompletableFuture<Void> attached = new CompletableFuture<>();
  private final CompletableFuture<Status> ended = new CompletableFuture<>();
  private ClientCallStreamObserver<WorkerMessage> requests;

  // Guarded by the outbox's lock.
  final ArrayDeque<WorkerMessage> control = new ArrayDeque<>();
  final ArrayDeque<WorkerMessage> replay = new ArrayDeque<>();
  boolean isAttached;
  boolean isEnded;

  private StreamSession(Outbox outbox, Inbound inbound, int number) {
    this.outbox = outbox;
    this.inbound = inbound;
    this.number = number;
  }

  /** Opens the stream and queues {@code attach} as its first message. */
  static StreamSession open(
      WorkerAgentServiceGrpc.WorkerAgentServiceStub stub,
      Outbox outbox,
      Inbound inbound,
      Attach attach,
      int number) {
    StreamSession session = new StreamSession(outbox, inbound, number);
    stub.workerStream(session);
    outbox.bind(session, WorkerMessage.newBuilder().setAttach(attach).build());
    return session;
  }

  CompletableFuture<Void> attached() {
    return attached;
  }

  CompletableFuture<Status> ended() {
    return ended;
  }

  int number() {
    return number;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<WorkerMessage> requestStream) {
    this.requests = requestStream;
    requestStream.setOnReadyHandler(outbox::wake);
  }

  /** Sender thread only. */
  boolean isReady() {
    return requests.isReady();
  }

  /** Sender thread only. */
  void write(WorkerMessage message) {
    requests.onNext(message);
  }

  /** Sender thread only: half-closes the stream, or cancels it. */
  void end(boolean cancel, String reason) {
    if (cancel) {
      requests.cancel(reason, null);
    } else {
      requests.onCompleted();
    }
  }

  @Override
  public void onNext(ServerMessage message) {
    switch (message.getPayloadCase()) {
      case ACK -> onAck(message.getAck());
      case RUN_JOB -> inbound.runJob(this, message.getRunJob());
      case CANCEL_JOB -> inbound.cancelJob(message.getCancelJob());
      case KEEP_ALIVE -> log.trace("keep-alive from the server");
      case REPLICAS -> inbound.replicas(message.getReplicas());
      case PAYLOAD_NOT_SET -> log.warn("stream {}: empty message from the server", number);
    }
  }

  private void onAck(Ack ack) {
    switch (ack.getKind()) {
      case ACK_KIND_ATTACHED -> {
        outbox.markAttached(this);
        attached.complete(null);
      }
      case ACK_KIND_JOB_RESULT -> outbox.acknowledgeResult(ack.getExecutionId());
      case ACK_KIND_LOG_BATCH -> outbox.acknowledgeLogs(ack.getExecutionId(), ack.getLogSequence());
      case ACK_KIND_RUN_JOB, ACK_KIND_UNSPECIFIED, UNRECOGNIZED ->
          log.warn(
              "stream {}: unexpected ack {} for {}", number, ack.getKind(), ack.getExecutionId());
    }
  }

  @Override
  public void onError(Throwable t) {
    finish(Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    finish(Status.UNAVAILABLE.withDescription("the server closed the stream"));
  }

  private void finish(Status status) {
    outbox.markEnded(this);
    ended.complete(status);
  }

  /** An ack of a command, for the control lane. */
  static WorkerMessage ack(String executionId, AckKind kind) {
    return WorkerMessage.newBuilder()
        .setAck(Ack.newBuilder().setExecutionId(executionId).setKind(kind))
        .build();
  }
}
