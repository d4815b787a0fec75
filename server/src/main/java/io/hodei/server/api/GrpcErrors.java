package io.hodei.server.api;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.hodei.core.error.AuthenticationException;
import io.hodei.core.error.ConflictException;
import io.hodei.core.error.IllegalTransitionException;
import io.hodei.core.error.InvalidSpecException;
import io.hodei.core.error.NotFoundException;
import io.hodei.core.error.PermissionDeniedException;
import io.hodei.core.error.RateLimitedException;
import io.hodei.core.error.StorageTrouble;
import io.hodei.core.error.UnavailableException;
import io.hodei.core.error.UnsatisfiableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where failures become gRPC statuses. Handlers throw domain exceptions; the {@link
 * #interceptor()} turns what escapes a unary handler into a status, and streaming code that fails
 * on its own threads calls {@link #toStatus} itself.
 */
public final class GrpcErrors {
  private static final Logger log = LoggerFactory.getLogger(GrpcErrors.class);

  /** Trailer naming the offending field of an {@code INVALID_ARGUMENT}, for programs. */
  public static final Metadata.Key<String> FIELD =
      Metadata.Key.of("hodei-field", Metadata.ASCII_STRING_MARSHALLER);

  /** Trailer with the whole seconds after which a {@code RESOURCE_EXHAUSTED} call may be retried. */
  public static final Metadata.Key<String> RETRY_AFTER =
      Metadata.Key.of("hodei-retry-after-seconds", Metadata.ASCII_STRING_MARSHALLER);

  private GrpcErrors() {}

  public static StatusRuntimeException toStatus(Throwable failure) {
    Metadata trailers = new Metadata();
    Status status =
        switch (failure) {
          case StatusRuntimeException sre -> {
            yield sre.getStatus();
          }
          case InvalidSpecException e -> {
            trailers.put(FIELD, e.field());
            yield Status.INVALID_ARGUMENT.withDescription(e.getMessage());
          }
          case UnsatisfiableException e -> {
            trailers.put(FIELD, e.field());
            yield Status.FAILED_PRECONDITION.withDescription(e.getMessage());
          }
          case NotFoundException e -> Status.NOT_FOUND.withDescription(e.getMessage());
          case IllegalTransitionException e ->
              Status.FAILED_PRECONDITION.withDescription(e.getMessage());
          case ConflictException e -> Status.ABORTED.withDescription(e.getMessage());
          case UnavailableException e ->
              (e.storageTrouble().filter(t -> t == StorageTrouble.FULL).isPresent() ? Status.RESOURCE_EXHAUSTED : Status.UNAVAILABLE)
                  .withDescription(e.getMessage());
          case AuthenticationException e -> Status.UNAUTHENTICATED.withDescription(e.getMessage());
          case PermissionDeniedException e ->
              Status.PERMISSION_DENIED.withDescription(e.getMessage());
          case RateLimitedException e -> {
            trailers.put(RETRY_AFTER, Long.toString(Math.max(1, e.retryAfter().toSeconds())));
            yield Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage());
          }
          case UnsupportedOperationException e ->
              Status.UNIMPLEMENTED.withDescription(e.getMessage());
          default -> {
            log.error("unexpected failure in a call; this indicates a bug", failure);
            yield Status.INTERNAL.withDescription("internal error; the server log has details");
          }
        };
    if (failure instanceof StatusRuntimeException sre && sre.getTrailers() != null) {
      trailers.merge(sre.getTrailers());
    }
    return status.withCause(failure).asRuntimeException(trailers);
  }

  /** Maps exceptions that escape a handler to their status instead of grpc's UNKNOWN. */
  public static ServerInterceptor interceptor() {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(
          ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        ServerCall.Listener<Q> delegate = next.startCall(call, headers);
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
          @Override
          public void onMessage(Q message) {
            guard(() -> super.onMessage(message));
          }

          @Override
          public void onHalfClose() {
            guard(super::onHalfClose);
          }

          private void guard(Runnable step) {
            try {
              step.run();
            } catch (RuntimeException e) {
              StatusRuntimeException mapped = toStatus(e);
              call.close(mapped.getStatus(), mapped.getTrailers());
            }
          }
        };
      }
    };
  }
}
