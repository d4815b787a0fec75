package io.hodei.bench;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.MoreExecutors;
import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.GetQueueStatusRequest;
import io.hodei.api.v1.Job;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.ListJobsRequest;
import io.hodei.api.v1.ListJobsResponse;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.api.v1.QueueJobResponse;
import io.hodei.api.v1.ScriptCommand;
import io.hodei.api.v1.ShellCommand;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;

/** Queues jobs over gRPC and collects them once they are done. */
final class JobClient {
  private final ControlPlaneProcess server;

  JobClient(ControlPlaneProcess server) {
    this.server = server;
  }

  static JobDefinition shell(String name, String cmd, String... args) {
    return JobDefinition.newBuilder()
        .setName(name)
        .setCommand(CommandSpec.newBuilder().setShell(ShellCommand.newBuilder().setCmd(cmd).addAllArgs(List.of(args))))
        .build();
  }

  static JobDefinition script(String name, String interpreter, String content) {
    return JobDefinition.newBuilder()
        .setName(name)
        .setCommand(
            CommandSpec.newBuilder()
                .setScript(ScriptCommand.newBuilder().setInterpreter(interpreter).setContent(content)))
        .build();
  }

  /**
   * Queues {@code count} jobs as fast as the server accepts them, with at most {@code inFlight}
   * QueueJob calls outstanding. Returns once every call is answered; fails on the first refusal.
   */
  void queueAll(int count, int inFlight, IntFunction<JobDefinition> definition) throws InterruptedException {
    queuePipelined(server.channel(), count, inFlight, definition, (index, calledAt, response) -> {}, index -> {});
  }

  /**
   * {@link #queueAll} through several replicas of one database at once: job {@code i} goes to
   * replica {@code i % servers.size()}, so that each queues its share, and the {@code inFlight}
   * calls are shared out among them. Returns once every call is answered; fails if one failed.
   */
  static void queueSpread(List<ControlPlaneProcess> servers, int count, int inFlight, IntFunction<JobDefinition> definition)
      throws InterruptedException {
    int n = servers.size();
    if (n == 1) {
      queuePipelined(servers.getFirst().channel(), count, inFlight, definition, (index, calledAt, response) -> {}, index -> {});
      return;
    }
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> threads = new ArrayList<>();
    for (int k = 0; k < n; k++) {
      int replica = k;
      int share = (count - replica + n - 1) / n;
      threads.add(Thread.ofPlatform().name("queue-through-" + replica).start(() -> {
        try {
          queuePipelined(servers.get(replica).channel(), share, Math.max(1, inFlight / n),
              j -> definition.apply(j * n + replica), (index, calledAt, response) -> {}, index -> {});
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          failure.compareAndSet(null, e);
        } catch (RuntimeException e) {
          failure.compareAndSet(null, e);
        }
      }));
    }
    for (Thread thread : threads) {
      thread.join();
    }
    if (failure.get() != null) {
      throw new BenchFailure("queueing through " + n + " replicas failed: " + failure.get().getMessage());
    }
  }

  /** Told of each accepted job, on a gRPC thread: its index, when its call was made ({@link System#nanoTime()}), the answer. */
  interface Accepted {
    void accept(int index, long calledAt, QueueJobResponse response);
  }

  /**
   * {@link #queueAll} against any server's channel: {@code beforeEach} runs on the calling thread
   * before call {@code index} is made (for progress lines), {@code accepted} for each answer.
   */
  static void queuePipelined(
      io.grpc.Channel channel,
      int count,
      int inFlight,
      IntFunction<JobDefinition> definition,
      Accepted accepted,
      java.util.function.IntConsumer beforeEach)
      throws InterruptedException {
    var stub = JobExecutionServiceGrpc.newFutureStub(channel);
    Semaphore permits = new Semaphore(inFlight);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    for (int i = 0; i < count && failure.get() == null; i++) {
      beforeEach.accept(i);
      permits.acquire();
      int index = i;
      long calledAt = System.nanoTime();
      var call = stub.queueJob(QueueJobRequest.newBuilder().setDefinition(definition.apply(i)).build());
      Futures.addCallback(
          call,
          new FutureCallback<QueueJobResponse>() {
            @Override
            public void onSuccess(QueueJobResponse response) {
              permits.release();
              accepted.accept(index, calledAt, response);
            }

            @Override
            public void onFailure(Throwable t) {
              failure.compareAndSet(null, t);
              permits.release();
            }
          },
          MoreExecutors.directExecutor());
    }
    permits.acquire(inFlight);
    permits.release(inFlight);
    if (failure.get() != null) {
      throw new BenchFailure("QueueJob failed: " + failure.get());
    }
  }

  /** Runs {@code jobs} {@code true} jobs and waits for them: JIT, connection pools, the workers' first spawns. */
  void warmUp(int jobs) throws InterruptedException {
    queueAll(jobs, 256, i -> shell("warmup-" + i, "true"));
    awaitQuiet(Duration.ofMinutes(5));
  }

  /** Waits until nothing is pending, scheduled or running. */
  void awaitQuiet(Duration timeout) throws InterruptedException {
    Instant deadline = Instant.now().plus(timeout);
    while (Instant.now().isBefore(deadline)) {
      var status = server.scheduler().getQueueStatus(GetQueueStatusRequest.getDefaultInstance());
      if (status.getPending() + status.getScheduled() + status.getRunning() == 0) {
        return;
      }
      Thread.sleep(20);
    }
    throw new BenchFailure("jobs still unfinished after " + timeout);
  }

  /** Every job whose name starts with {@code prefix}. */
  List<Job> jobsNamed(String prefix) {
    List<Job> all = new ArrayList<>();
    String token = "";
    do {
      ListJobsResponse page =
          server.jobs().listJobs(ListJobsRequest.newBuilder().setNamePrefix(prefix).setPageSize(500).setPageToken(token).build());
      all.addAll(page.getJobsList());
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    return all;
  }

  /** Fails unless there are {@code count} jobs and every one succeeded. */
  static void requireAllSucceeded(List<Job> jobs, int count) {
    if (jobs.size() != count) {
      throw new BenchFailure(count + " jobs queued, " + jobs.size() + " found");
    }
    for (Job job : jobs) {
      if (job.getState() != io.hodei.api.v1.JobState.JOB_STATE_SUCCEEDED) {
        throw new BenchFailure("job " + job.getJobId() + " ended " + job.getState() + ": " + job.getErrorMessage());
      }
    }
  }

  static double seconds(com.google.protobuf.Timestamp t) {
    return t.getSeconds() + t.getNanos() / 1e9;
  }
}
