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
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run of one job: starts the process, streams its output, enforces its timeout, and queues
 * {@code job_started}, the {@code log_batch}es and finally the {@code job_result} on the outbox,
 * in that order.
 *
 * <p>Threads: {@link #run()} runs on the execution's own virtual thread; each output stream has a
 * reader virtual thread; a kill runs on a virtual thread of its own. {@link #stop} may be called
 * from any thread, any number of times: the first call decides the outcome (CANCELLED or
 * TIMED_OUT) unless the process had already ended by itself. The result is queued only after
 * both pipes hit end of file (or the drain timeout passed) and every line went into a batch, so
 * the result always follows the execution's last log batch.
 */
final class JobExecution {
  private static final Logger log = LoggerFactory.getLogger(JobExecution.class);
  private static final int READ_BUFFER_BYTES = 16 * 1024;
  /** How long to wait, after the process exits, for its pipes to close beyond the kill grace. */
  private static final Duration PIPE_DRAIN_EXTRA = Duration.ofSeconds(3);

  private final RunJobCommand command;
  private final ProcessLauncher launcher;
  private final ScriptWorkspace workspace;
  private final Outbox outbox;
  private final WorkerConfig config;
  private final AtomicReference<StopRequest> stopRequest = new AtomicReference<>();
  private final CountDownLatch ended = new CountDownLatch(1);
  private volatile Process process;

  private record StopRequest(JobOutcome outcome, String reason) {}

  JobExecution(
      RunJobCommand command,
      ProcessLauncher launcher,
      ScriptWorkspace workspace,
      Outbox outbox,
      WorkerConfig config) {
    this.command = command;
    this.launcher = launcher;
    this.workspace = workspace;
    this.outbox = outbox;
    this.config = config;
  }

  String executionId() {
    return command.getExecutionId();
  }

  String jobId() {
    return command.getJobId();
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
   * Kills the job's process tree, reporting {@code outcome} with {@code reason}. No effect once
   * the process has ended by itself or after an earlier stop.
   */
  void stop(JobOutcome outcome, String reason) {
    Process running = process;
    if (running != null && !running.isAlive()) {
      return;
    }
    if (stopRequest.compareAndSet(null, new StopRequest(outcome, reason))) {
      log.info("stopping execution {}: {}", executionId(), reason);
      if (running != null) {
        killInBackground(running);
      }
    }
  }

  /** Waits until the result has been queued (or dropped because the worker is stopping). */
  boolean awaitEnd(Duration timeout) throws InterruptedException {
    return ended.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  private JobResult execute() throws InterruptedException {
    ProcessLauncher.Launched launched;
    try {
      launched = launcher.launch(command);
    } catch (ProcessLauncher.LaunchFailure failure) {
      log.warn("failed to start: {}", failure.getMessage());
      return result(JobOutcome.JOB_OUTCOME_FAILED_TO_START, -1, failure.getMessage(), null, 0);
    }
    Process started = launched.process();
    process = started;
    try {
      if (stopRequest.get() != null) {
        killInBackground(started); // stop() came while the process was being started
      }
      Instant startedAt = Instant.now();
      long startedNanos = System.nanoTime();
      log.info("started pid {}", started.pid());
      outbox.enqueue(
          WorkerMessage.newBuilder()
              .setJobStarted(
                  JobStarted.newBuilder()
                      .setJobId(jobId())
                      .setExecutionId(executionId())
                      .setStartedAt(Protos.timestamp(startedAt)))
              .build());
      LogBatcher batcher =
          LogBatcher.start(
              jobId(),
              executionId(),
              config.logBatching(),
              batch -> outbox.enqueue(WorkerMessage.newBuilder().setLogBatch(batch).build()));
      Thread stdout = startReader(started.getInputStream(), LogStream.LOG_STREAM_STDOUT, batcher);
      Thread stderr = startReader(started.getErrorStream(), LogStream.LOG_STREAM_STDERR, batcher);

      Optional<Duration> timeout = timeout();
      if (timeout.isPresent()) {
        long left = timeout.get().toNanos() - (System.nanoTime() - startedNanos);
        if (!started.waitFor(Math.max(0, left), TimeUnit.NANOSECONDS)) {
          stop(JobOutcome.JOB_OUTCOME_TIMED_OUT, "timed out after " + timeout.get());
        }
      }
      int exitCode = started.waitFor();
      awaitPipes(stdout, stderr);
      long lines = batcher.close();
      StopRequest stop = stopRequest.get();
      return stop == null
          ? result(JobOutcome.JOB_OUTCOME_EXITED, exitCode, "", startedAt, lines)
          : result(stop.outcome(), exitCode, stop.reason(), startedAt, lines);
    } catch (InterruptedException e) {
      ProcessTree.kill(started.toHandle(), config.killGracePeriod());
      throw e;
    } finally {
      launched.scriptDirectory().ifPresent(workspace::deleteInBackground);
    }
  }

  private Optional<Duration> timeout() {
    if (!command.hasTimeout()) {
      return Optional.empty();
    }
    Duration timeout = Protos.duration(command.getTimeout());
    return timeout.isNegative() || timeout.isZero() ? Optional.empty() : Optional.of(timeout);
  }

  private Thread startReader(InputStream pipe, LogStream stream, LogBatcher batcher) {
    String name = (stream == LogStream.LOG_STREAM_STDOUT ? "stdout-" : "stderr-") + executionId();
    return Thread.ofVirtual().name(name).start(() -> readLines(pipe, stream, batcher));
  }

  private void readLines(InputStream pipe, LogStream stream, LogBatcher batcher) {
    try (var _ = JobLogContext.enter(jobId(), executionId()); pipe) {
      LineSplitter splitter =
          new LineSplitter(
              config.logBatching().maxLineBytes(),
              (bytes, offset, length) -> batcher.append(stream, bytes, offset, length));
      byte[] buffer = new byte[READ_BUFFER_BYTES];
      try {
        int read;
        while ((read = pipe.read(buffer)) != -1) {
          splitter.feed(buffer, 0, read);
        }
      } finally {
        splitter.finish();
      }
    } catch (IOException e) {
      log.warn("reading {} failed: {}", stream, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      log.warn("interrupted while reading {}", stream);
    }
  }

  private void awaitPipes(Thread stdout, Thread stderr) throws InterruptedException {
    long deadline = System.nanoTime() + config.killGracePeriod().plus(PIPE_DRAIN_EXTRA).toNanos();
    for (Thread reader : new Thread[] {stdout, stderr}) {
      long left = Math.max(1, deadline - System.nanoTime());
      if (!reader.join(Duration.ofNanos(left))) {
        log.warn(
            "the process exited but a process it started still holds its output open;"
                + " output written from now on is discarded");
        return;
      }
    }
  }

  private void killInBackground(Process target) {
    Thread.ofVirtual()
        .name("kill-" + executionId())
        .start(
            () -> {
              try (var _ = JobLogContext.enter(jobId(), executionId())) {
                ProcessTree.kill(target.toHandle(), config.killGracePeriod());
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                log.warn("interrupted while killing execution {}", executionId());
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

