package io.hodei.server.auth;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.hodei.core.auth.Principal;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Holds each user to {@link UserQuotas#streams()} open long-lived calls (WatchJob, StreamLogs,
 * StreamMetrics): one past it is closed at once with {@code RESOURCE_EXHAUSTED} naming the quota,
 * before its handler runs, so it costs the server nothing more. Admins are not counted. Runs
 * after {@link AuthInterceptor}, whose principal it reads. Thread-safe.
 */
public final class StreamQuota implements ServerInterceptor {
  static final Set<String> STREAMS =
      Set.of(
          "hodei.v1.JobExecutionService/WatchJob",
          "hodei.v1.LogStreamService/StreamLogs",
          "hodei.v1.MetricsService/StreamMetrics");

  private final int perUser;
  private final ConcurrentHashMap<String, AtomicInteger> open = new ConcurrentHashMap<>();

  public StreamQuota(int perUser) {
    this.perUser = perUser;
  }

  /** Open counted streams of {@code user} now. */
  public int open(String user) {
    AtomicInteger n = open.get(user);
    return n == null ? 0 : n.get();
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    if (!STREAMS.contains(call.getMethodDescriptor().getFullMethodName())) {
      return next.startCall(call, headers);
    }
    Principal caller = Callers.principal();
    if (caller.isAdmin()) {
      return next.startCall(call, headers);
    }
    AtomicInteger count = open.computeIfAbsent(caller.name(), k -> new AtomicInteger());
    if (count.incrementAndGet() > perUser) {
      release(caller.name(), count);
      call.close(
          Status.RESOURCE_EXHAUSTED.withDescription(
              "quota streams: at most " + perUser + " open WatchJob, StreamLogs and StreamMetrics calls per user; close one first"),
          new Metadata());
      return new ServerCall.Listener<>() {};
    }
    AtomicBoolean released = new AtomicBoolean();
    Runnable done = () -> {
      if (released.compareAndSet(false, true)) {
        release(caller.name(), count);
      }
    };
    ServerCall.Listener<Q> delegate;
    try {
      delegate = next.startCall(call, headers);
    } catch (RuntimeException e) {
      done.run();
      throw e;
    }
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
      @Override
      public void onCancel() {
        done.run();
        super.onCancel();
      }

      @Override
      public void onComplete() {
        done.run();
        super.onComplete();
      }
    };
  }

  private void release(String user, AtomicInteger count) {
    if (count.decrementAndGet() <= 0) {
      open.remove(user, count);
    }
  }
}
