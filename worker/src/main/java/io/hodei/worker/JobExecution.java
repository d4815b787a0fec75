package io.hodei.worker;

import io.hodei.api.v1.JobOutcome;
import io.hodei.api.v1.JobResult;
import io.hodei.api.v1.JobStarted;
import io.hodei.api.v1.LogStream;
import io.hodei.api.v1.RunJobCommand;
import io.hodei.api.v1.WorkerMessage;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run of one job: starts the process, streams its output, enforces its timeout, and queues
 * {@code job_started}, the {@code log_batch}es and finally the {@code job_result} on the outbox,
 * in that order.
 *
 * <p>Threads: {@link #run()} runs on the execution's own virtual thread; each output stream has a
 * reader on a pooled platform thread; the kill runs on a virtual thread of its own. {@link #stop} may be called
 * from any thread, any number of times, also before the process is started: the first call
 * decides the outcome (CANCELLED or TIMED_OUT) unless the process had already ended by itself,
 * and the process is killed exactly once through {@link ProcessKiller}, however the stop and the
 * start interleave (a stop that comes before the start means the process is never started). Once
 * a stop was requested the result reports it, even if the job then exits by itself, cleanly or
 * not, during the grace period.
 *
 * <p>The result is queued only after both pipes hit end of file (or the drain timeout passed),
 * every line went into a batch and, for a stopped job, the kill is done; so the result always
 * follows the execution's last log batch, and a stopped job's processes are gone (or were sent
 * SIGKILL) when it is reported.
 */
final class JobExecution {
  private static final Logger log = LoggerFactory.getLogger(JobExecution.class);
  private static final int READ_BUFFER_BYTES = 16 * 1024;
  /**
   * How long to wait, after a process exits by itself, for its pipes to close: a process it left
   * behind may still hold them.
   */
  private static final Duration PIPE_DRAIN = Duration.ofSeconds(5);
  /** The same for a killed job, beyond the kill's grace period. */
  private static final Duration PIPE_DRAIN_EXTRA = Duration.ofSeconds(3);

  private final RunJobCommand command;
  private final ProcessLauncher launcher;
  private final Outbox outbox;
  private final ProcessKiller killer;
  private final WorkerConfig config;
  /** Built once per execution: both output streams share its patterns, each has its own filter. */
  private final Redactor redactor;
  private final AtomicReference<StopRequest> stopRequest = new AtomicReference<>();
  private final AtomicBoolean killStarted = new AtomicBoolean();
  private final CountDownLatch killDone = new CountDownLatch(1);
  private final CountDownLatch ended = new CountDownLatch(1);
  /** Set once the process is started; read by {@link #stop} on other threads. */
  private volatile ProcessLauncher.Launched launched;

  private record StopRequest(JobOutcome outcome, String reason) {}

  JobExecution(
      RunJobCommand command,
      ProcessLauncher launcher,
      Outbox outbox,
      ProcessKiller killer,
      WorkerConfig config) {
    this.command = command;
    this.launcher = launcher;
    this.outbox = outbox;
    this.killer = killer;
    this.config = config;
    this.redactor = Redactor.of(command.getSecretsMap(), MIN_SECRET_LENGTH);
  }

  /**
   * Shortest pattern redacted. The control plane refuses secrets shorter than this
   * (JobSpecValidator.MIN_SECRET_LENGTH); here it also bounds the derived forms (encodings, lines of
   * a multi-line value), so that a short fragment never masks ordinary text.
   */
  static final int MIN_SECRET_LENGTH = 8;

  String executionId() {
    return command.getExecutionId();
  }

  String jobId() {
    return command.getJobId();
  }

  /** The job's process, once started and while this execution runs; for resource sampling. */
  Optional<UsageSampler.JobProcess> process() {
    ProcessLauncher.Launched current = launched;
    if (current == null) {
      return Optional.empty();
    }
    ProcessHandle handle = current.process().toHandle();
    return Optional.of(
        new UsageSampler.JobProcess(
            jobId(),
            executionId(),
            handle.pid(),
            current.ownProcessGroup() && !current.sandbox().enclosed(),
            handle.info().startInstant(),
            // bwrap (or unshare) and its pid 1 stand between the spawned process and the job's own.
            current.sandbox().enclosed() ? 2 : 0));
  }

  /** Runs the job to its end and queues its result. Call once, on the execution's own thread. */
  void run() {
    try (var _ = JobLogContext.enter(jobId(), executionId())) {
      JobResult result = execute();
      log.info(
          "job ended: {} exit={} lines={}{}",
          result.getOutcome(), result.getExitCode(), result.getLogLines(),
          result.getErrorMessage().isEmpty() ? "" : " (" + result.getErrorMessage() + ")");
      if (!outbox.enqueue(WorkerMessage.newBuilder().setJobResult(result).build())) {
        log.warn("the worker is stopping; the result of this execution was not sent");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      log.warn("interrupted; the result of this execution was not sent");
    } finally {
      ended.countDown();
    }
  }

  /**
   * Kills the job's processes, reporting {@code outcome} with {@code reason}; if the process is
   * still being started, it is killed once started. No effect once the process has ended by
   * itself or after an earlier stop.
   */
  void stop(JobOutcome outcome, String reason) {
    ProcessLauncher.Launched current = launched;
    if (current != null && !current.process().isAlive()) {
      return;
    }
    if (!stopRequest.compareAndSet(null, new StopRequest(outcome, reason))) {
      return;
    }
    log.info("stopping execution {}: {}", executionId(), reason);
    // Read again: execute() publishes the process before it looks for a stop request, so at
    // least one of the two sees the other (both may: the kill starts only once).
    current = launched;
    if (current != null) {
      killInBackground(current);
    }
  }

  /** Waits until the result has been queued (or dropped because the worker is stopping). */
  boolean awaitEnd(Duration timeout) throws InterruptedException {
    return ended.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  private JobResult execute() throws InterruptedException {
    StopRequest early = stopRequest.get();
    if (early != null) {
      log.info("stopped before it was started; not starting it");
      return result(early.outcome(), -1, early.reason(), null, 0);
    }
    ProcessLauncher.Launched job;
    try {
      job = launcher.launch(command);
    } catch (ProcessLauncher.LaunchFailure failure) {
      log.warn("failed to start: {}", failure.getMessage());
      return result(JobOutcome.JOB_OUTCOME_FAILED_TO_START, -1, failure.getMessage(), null, 0);
    }
    Process started = job.process();
    launched = job;
    try {
      if (stopRequest.get() != null) {
        killInBackground(job); // stop() came while the process was being started
      }
      Instant startedAt = Instant.now();
      long startedNanos = System.nanoTime();
      log.info(
          "started pid {}{}",
          started.pid(), job.ownProcessGroup() ? " in a process group of its own" : "");
      outbox.enqueue(
          WorkerMessage.newBuilder()
              .setJobStarted(
                  JobStarted.newBuilder()
                      .setJobId(jobId())
                      .setExecutionId(executionId())
                      .setStartedAt(Protos.timestamp(startedAt)))
              .build());
      LogBatcher.BatchSink sink =
          batch -> outbox.enqueue(WorkerMessage.newBuilder().setLogBatch(batch).build());
      LogBatcher batcher =
          command.getLogPolicy() == io.hodei.api.v1.LogPolicy.LOG_POLICY_DROP
              ? LogBatcher.startDropping(
                  jobId(),
                  executionId(),
                  config.logBatching(),
                  sink,
                  batch -> outbox.offer(WorkerMessage.newBuilder().setLogBatch(batch).build()))
              : LogBatcher.start(jobId(), executionId(), config.logBatching(), sink);
      Future<?> stdout = startReader(started.getInputStream(), LogStream.LOG_STREAM_STDOUT, batcher);
      Future<?> stderr = startReader(started.getErrorStream(), LogStream.LOG_STREAM_STDERR, batcher);

      Optional<Duration> timeout = timeout();
      if (timeout.isPresent()) {
        long left = timeout.get().toNanos() - (System.nanoTime() - startedNanos);
        if (!started.waitFor(Math.max(0, left), TimeUnit.NANOSECONDS)) {
          stop(JobOutcome.JOB_OUTCOME_TIMED_OUT, "timed out after " + timeout.get());
        }
      }
      int exitCode = started.waitFor();
      // The outcome is decided here: a stop requested after the exit doesn't change it.
      StopRequest stop = stopRequest.get();
      if (stop == null) {
        // No process outlives its job: what it left running goes now, and with it the pipes it held.
        killLeftovers(job);
      }
      Duration drain = stop == null ? PIPE_DRAIN : killer.gracePeriod().plus(PIPE_DRAIN_EXTRA);
      long deadline = System.nanoTime() + drain.toNanos();
      awaitPipes(stdout, stderr, deadline);
      if (stop != null) {
        awaitKill(deadline);
      }
      long lines = batcher.close();
      JobResult result =
          stop == null
              ? result(JobOutcome.JOB_OUTCOME_EXITED, exitCode, "", startedAt, lines)
              : result(stop.outcome(), exitCode, stop.reason(), startedAt, lines);
      long dropped = batcher.linesDropped();
      if (dropped > 0) {
        log.info("dropped {} log lines under the drop policy", dropped);
        result = result.toBuilder().setDroppedLogLines(dropped).build();
      }
      return result;
    } catch (InterruptedException e) {
      kill(job);
      throw e;
    } finally {
      Subreaper.disown(started.pid());
      closeInBackground(job);
    }
  }

  private Optional<Duration> timeout() {
    if (!command.hasTimeout()) {
      return Optional.empty();
    }
    Duration timeout = Protos.duration(command.getTimeout());
    return timeout.isNegative() || timeout.isZero() ? Optional.empty() : Optional.of(timeout);
  }

  /**
   * Pipe readers run on platform threads, reused across jobs: a read blocked on a quiet job's pipe
   * holds its thread, and on a virtual thread it would hold a carrier too (the JDK does not
   * compensate for reads of a pipe opened by its path), so a few quiet jobs would starve every
   * other virtual thread of the worker.
   */
  private static final ExecutorService PIPE_READERS =
      Executors.newCachedThreadPool(Thread.ofPlatform().name("job-output-", 0).daemon().factory());

  private Future<?> startReader(InputStream pipe, LogStream stream, LogBatcher batcher) {
    return PIPE_READERS.submit(() -> readLines(pipe, stream, batcher));
  }

  private void readLines(InputStream pipe, LogStream stream, LogBatcher batcher) {
    try (var _ = JobLogContext.enter(jobId(), executionId()); pipe) {
      // Lines are stamped with the instant of the read that completed them (one timestamp per
      // read, not per line); only the reader thread touches readAt.
      com.google.protobuf.Timestamp[] readAt = {Protos.timestamp(Instant.now())};
      LineSplitter splitter =
          new LineSplitter(
              config.logBatching().maxLineBytes(),
              (LineSplitter.PieceSink)
                  (bytes, offset, length, newline) -> batcher.append(stream, readAt[0], bytes, offset, length, newline));
      // Secrets are masked before lines are cut, so a value split across reads, or across a
      // maximum-length line break, is still caught.
      Redactor.Filter redact = redactor.newFilter();
      Redactor.Sink toSplitter = splitter::feed;
      byte[] buffer = new byte[READ_BUFFER_BYTES];
      try {
        int read;
        while ((read = pipe.read(buffer)) != -1) {
          readAt[0] = Protos.timestamp(Instant.now());
          redact.write(buffer, 0, read, toSplitter);
        }
      } finally {
        readAt[0] = Protos.timestamp(Instant.now());
        redact.finish(toSplitter);
        splitter.finish();
      }
    } catch (IOException e) {
      log.warn("reading {} failed: {}", stream, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      log.warn("interrupted while reading {}", stream);
    }
  }

  private void awaitPipes(Future<?> stdout, Future<?> stderr, long deadline)
      throws InterruptedException {
    for (Future<?> reader : List.of(stdout, stderr)) {
      long left = Math.max(1, deadline - System.nanoTime());
      if (!finished(reader, left)) {
        log.warn(
            "the process exited but a process it started still holds its output open;"
                + " output written from now on is discarded");
        return;
      }
    }
  }

  private static boolean finished(Future<?> reader, long nanos) throws InterruptedException {
    try {
      reader.get(nanos, TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      log.warn("reading the job's output failed: {}", e.getCause().toString());
      return true;
    }
  }

  /** Waits for the kill to be done, so that the report follows it. */
  private void awaitKill(long deadline) throws InterruptedException {
    long left = Math.max(1, deadline - System.nanoTime());
    if (!killDone.await(left, TimeUnit.NANOSECONDS)) {
      log.warn("the kill of execution {} has not finished; reporting it anyway", executionId());
    }
  }

  /** Starts the kill of the job's processes, unless it was started already. */
  private void killInBackground(ProcessLauncher.Launched target) {
    if (!killStarted.compareAndSet(false, true)) {
      return;
    }
    Thread.ofVirtual()
        .name("kill-" + executionId())
        .start(
            () -> {
              try (var _ = JobLogContext.enter(jobId(), executionId())) {
                kill(target);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                log.warn("interrupted while killing execution {}", executionId());
              } finally {
                killDone.countDown();
              }
            });
  }

  /**
   * Ends the job's processes: under a uid of its own through its sandbox (SIGTERM to the job's
   * processes, SIGKILL to all that is left after the grace period); otherwise by process group.
   */
  private void kill(ProcessLauncher.Launched target) throws InterruptedException {
    if (target.sandbox().uid().isPresent()) {
      target.sandbox().terminate(killer.gracePeriod());
      target.process().toHandle().destroyForcibly();
    } else {
      killer.kill(target.process().toHandle(), target.ownProcessGroup());
      killLeftovers(target);
    }
  }

  /** SIGKILL to whatever the job left running after its first process ended. */
  private void killLeftovers(ProcessLauncher.Launched target) {
    if (target.sandbox().uid().isEmpty() && target.ownProcessGroup()) {
      killer.killLeftovers(target.process().pid());
    }
    target.sandbox().killAll();
  }

  /** Removes the job's sandbox once the kill (if any) is done; the result never waits for it. */
  private void closeInBackground(ProcessLauncher.Launched target) {
    Thread.ofVirtual()
        .name("close-" + executionId())
        .start(
            () -> {
              try (var _ = JobLogContext.enter(jobId(), executionId())) {
                if (killStarted.get()) {
                  killDone.await();
                }
                target.sandbox().close();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                target.sandbox().close();
              } catch (RuntimeException e) {
                log.warn("could not clean up the sandbox of execution {}: {}", executionId(), e.toString());
              }
            });
  }

  private JobResult result(
      JobOutcome outcome, int exitCode, String errorMessage, Instant startedAt, long lines) {
    JobResult.Builder result =
        JobResult.newBuilder()
            .setJobId(jobId())
            .setExecutionId(executionId())
            .setOutcome(outcome)
            .setExitCode(exitCode)
            .setErrorMessage(errorMessage)
            .setFinishedAt(Protos.timestamp(Instant.now()))
            .setLogLines(lines);
    if (startedAt != null) {
      result.setStartedAt(Protos.timestamp(startedAt));
    }
    return result.build();
  }
}

