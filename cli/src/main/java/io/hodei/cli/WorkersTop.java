package io.hodei.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.JsonFormat;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.hodei.api.v1.GetAggregatedMetricsRequest;
import io.hodei.api.v1.GetAggregatedMetricsResponse;
import io.hodei.api.v1.MetricsServiceGrpc;
import io.hodei.api.v1.StreamMetricsRequest;
import io.hodei.api.v1.WorkerMetrics;
import io.hodei.api.v1.WorkerMetricsSummary;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code hodei workers top}: per worker, cpu, memory, pids, I/O and running jobs, redrawn live from
 * {@code StreamMetrics}; {@code --once} prints one table from {@code GetAggregatedMetrics} and
 * exits.
 *
 * <p>Live, the samples arrive on gRPC's thread into a map (newest per worker); the command's thread
 * draws that map every {@code --delay}. Rows of workers not heard from for {@link #STALE_AFTER} are
 * dropped. With {@code -o json} each sample is printed as one line of JSON as it arrives, and
 * nothing is redrawn. A stream that fails on the way (the server restarts) is reopened; a sample
 * printed before is not printed again.
 */
@Command(
    name = "top",
    mixinStandardHelpOptions = true,
    description = {
      "Live cpu, memory, pids, I/O and running jobs of each worker, as heartbeats arrive.",
      "CPU is cores busy, MEM resident memory, PIDS tasks and I/O bytes read and written: of the",
      "worker's cgroup, or of its processes where it shares its cgroup (no I/O then). HOST is the",
      "whole machine's. AGE is how old the figures are. Under each worker, a line per running job",
      "(its process group). Live, it survives a restarting server."
    })
final class WorkersTop extends ClientCommand {
  static final Duration STALE_AFTER = Duration.ofMinutes(1);

  /** Lets the first burst of samples (the newest of every worker) land before the first frame. */
  private static final Duration SETTLE = Duration.ofMillis(250);

  private static final String CLEAR_SCREEN = "\033[H\033[2J";
  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneId.systemDefault());

  @Option(names = "--once", description = "Print one table and exit.")
  boolean once;

  @Option(
      names = {"-d", "--delay"},
      paramLabel = "DURATION",
      defaultValue = "2s",
      converter = Durations.Converter.class,
      description = "Time between redraws (default: ${DEFAULT-VALUE}).")
  Duration delay;

  @Option(
      names = {"-n", "--iterations"},
      paramLabel = "N",
      defaultValue = "0",
      description = "Stop after N tables (N samples with -o json); 0: until interrupted.")
  int iterations;

  @Option(
      names = {"-w", "--worker"},
      paramLabel = "WORKER_ID",
      defaultValue = "",
      description = "Only this worker.")
  String worker;

  @Option(
      names = {"-o", "--output"},
      defaultValue = "table",
      description = "table or json (default: ${DEFAULT-VALUE}).")
  JobsCommand.Output output;

  @Override
  int run(ManagedChannel channel, PrintWriter out) {
    if (delay.isNegative() || delay.isZero()) {
      throw new HodeiCli.UserError("--delay must be longer than zero", HodeiCli.EX_DATAERR);
    }
    return once ? printOnce(channel, out) : follow(channel, out);
  }

  private int printOnce(ManagedChannel channel, PrintWriter out) {
    var figures =
        MetricsServiceGrpc.newBlockingStub(channel)
            .withDeadlineAfter(30, TimeUnit.SECONDS)
            .getAggregatedMetrics(GetAggregatedMetricsRequest.getDefaultInstance());
    List<WorkerMetrics> rows =
        figures.getWorkersList().stream()
            .filter(WorkerMetricsSummary::getConnected)
            .map(WorkerMetricsSummary::getLatest)
            .filter(m -> worker.isEmpty() || m.getWorkerId().equals(worker))
            .toList();
    if (output == JobsCommand.Output.json) {
      out.println(json(figures, false));
    } else {
      table(rows, Instant.now(), out);
      out.println();
      out.println(summary(figures));
    }
    return 0;
  }

  /** How long the server may be away before a live top gives up. */
  private static final Duration RECONNECT_FOR = Duration.ofMinutes(2);

  /** One StreamMetrics call: its samples go into the shared map (and, as JSON, to the output). */
  private final class Subscription implements ClientResponseObserver<StreamMetricsRequest, WorkerMetrics> {
    final CompletableFuture<Void> firstSample = new CompletableFuture<>();
    final CompletableFuture<Void> ended = new CompletableFuture<>();
    private final ConcurrentSkipListMap<String, WorkerMetrics> latest;
    private final AtomicInteger printed;
    private final PrintWriter out;
    volatile ClientCallStreamObserver<StreamMetricsRequest> call;

    Subscription(ConcurrentSkipListMap<String, WorkerMetrics> latest, AtomicInteger printed, PrintWriter out) {
      this.latest = latest;
      this.printed = printed;
      this.out = out;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<StreamMetricsRequest> requestStream) {
      call = requestStream;
    }

    @Override
    public void onNext(WorkerMetrics sample) {
      // A new call starts with the newest sample of each worker: one printed before is not again.
      WorkerMetrics before = latest.get(sample.getWorkerId());
      boolean seen = before != null && !toInstant(sample.getAt()).isAfter(toInstant(before.getAt()));
      if (!seen) {
        latest.put(sample.getWorkerId(), sample);
      }
      firstSample.complete(null);
      if (output == JobsCommand.Output.json && !seen) {
        int number = printed.incrementAndGet();
        if (iterations > 0 && number > iterations) {
          return; // arrived while the call was being cancelled
        }
        synchronized (out) {
          out.println(json(sample, true));
          out.flush();
        }
        if (number == iterations) {
          ended.complete(null);
        }
      }
    }

    @Override
    public void onError(Throwable t) {
      ended.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {
      ended.complete(null);
    }

    void cancel() {
      if (call != null) {
        call.cancel("hodei workers top ended", null);
      }
    }
  }

  /**
   * Live: draws a table every {@code --delay} (or prints samples as JSON) until interrupted or
   * {@code -n} is reached. A transient failure of the stream (the server restarting, a connection
   * lost) reopens it after a pause, keeping the figures and the count of tables; only one that
   * lasts {@link #RECONNECT_FOR} ends the command.
   */
  private int follow(ManagedChannel channel, PrintWriter out) {
    var latest = new ConcurrentSkipListMap<String, WorkerMetrics>();
    var printed = new AtomicInteger();
    boolean asJson = output == JobsCommand.Output.json;
    boolean interactive = System.console() != null;
    int frame = 0;
    Instant giveUp = null;
    while (true) {
      var subscription = new Subscription(latest, printed, out);
      MetricsServiceGrpc.newStub(channel)
          .streamMetrics(StreamMetricsRequest.newBuilder().setWorkerId(worker).build(), subscription);
      try {
        if (asJson) {
          subscription.ended.get();
          return 0;
        }
        waitFor(CompletableFuture.anyOf(subscription.firstSample, subscription.ended), delay);
        waitFor(subscription.ended, SETTLE);
        while (!subscription.ended.isDone()) {
          frame++;
          Instant now = Instant.now();
          latest.values().removeIf(m -> toInstant(m.getAt()).plus(STALE_AFTER).isBefore(now));
          if (interactive) {
            out.print(CLEAR_SCREEN);
          } else if (frame > 1) {
            out.println();
          }
          out.println(
              "hodei workers top - " + TIME.format(now) + " - " + latest.size() + " worker(s)");
          table(new ArrayList<>(latest.values()), now, out);
          out.flush();
          if (iterations > 0 && frame >= iterations) {
            return 0;
          }
          if (subscription.firstSample.isDone()) {
            giveUp = null;
          }
          waitFor(subscription.ended, delay);
        }
        subscription.ended.join();
        return 0;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return 0;
      } catch (ExecutionException | java.util.concurrent.CompletionException e) {
        if (!(e.getCause() instanceof StatusRuntimeException failure)) {
          throw new IllegalStateException(e.getCause());
        }
        if (subscription.firstSample.isDone()) {
          giveUp = null;
        }
        Instant now = Instant.now();
        if (!LogFollower.worthReconnecting(failure.getStatus()) || (giveUp != null && now.isAfter(giveUp))) {
          throw failure;
        }
        if (giveUp == null) {
          giveUp = now.plus(RECONNECT_FOR);
          System.err.println("hodei: workers top: the server's stream ended (" + failure.getStatus().getCode()
              + "); reconnecting");
        }
        try {
          Thread.sleep(1000);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          return 0;
        }
      } finally {
        subscription.cancel();
      }
    }
  }

  /** Waits up to {@code timeout} for {@code future}; returns early when it completes. */
  private static void waitFor(CompletableFuture<?> future, Duration timeout)
      throws InterruptedException, ExecutionException {
    try {
      future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      // the usual case: nothing ended
    }
  }

  static void table(List<WorkerMetrics> rows, Instant now, PrintWriter out) {
    String format = "%-16s %6s %8s %6s %17s %10s %17s %5s  %s%n";
    out.printf(
        format,
        "WORKER",
        "CPU",
        "MEM",
        "PIDS",
        "IO READ/WRITE",
        "HOST CPU",
        "HOST MEM",
        "AGE",
        "JOBS");
    for (WorkerMetrics m : rows) {
      var usage = m.getUsage();
      var host = m.getHostUsage();
      out.printf(
          format,
          m.getWorkerId(),
          String.format(Locale.ROOT, "%.2f", usage.getCpuCores()),
          bytes(usage.getMemoryBytes()),
          usage.getPids(),
          bytes(usage.getIoReadBytes()) + "/" + bytes(usage.getIoWriteBytes()),
          host.getCpuCount() == 0
              ? "-"
              : String.format(Locale.ROOT, "%.1f/%d", host.getCpuCores(), host.getCpuCount()),
          host.getMemoryTotalBytes() == 0
              ? "-"
              : bytes(host.getMemoryUsedBytes()) + "/" + bytes(host.getMemoryTotalBytes()),
          age(
              usage.hasCollectedAt() ? toInstant(usage.getCollectedAt()) : toInstant(m.getAt()),
              now),
          m.getRunningJobIdsCount() == 0 ? "-" : String.join(",", m.getRunningJobIdsList()));
      for (var job : m.getJobUsageList()) {
        out.printf(
            "%-16s %6s %8s %6s  %s%n",
            "  job",
            String.format(Locale.ROOT, "%.2f", job.getUsage().getCpuCores()),
            bytes(job.getUsage().getMemoryBytes()),
            job.getUsage().getPids(),
            job.getJobId());
      }
    }
  }

  private static String summary(GetAggregatedMetricsResponse figures) {
    var total = figures.getTotalUsage();
    return String.format(
        Locale.ROOT,
        "%d worker(s) connected, using %.2f cores and %s; since %s: %d job(s) queued, %d"
            + " succeeded, %d failed",
        figures.getWorkersConnected(),
        total.getCpuCores(),
        bytes(total.getMemoryBytes()),
        TIME.format(toInstant(figures.getSince())),
        figures.getJobsQueued(),
        figures.getJobsSucceeded(),
        figures.getJobsFailed());
  }

  /** 1023B, 1.5K, 20.0M, 3.2G: powers of 1024. */
  static String bytes(long value) {
    if (value < 1024) {
      return value + "B";
    }
    double scaled = value;
    String units = "KMGTPE";
    int unit = -1;
    while (scaled >= 1024 && unit < units.length() - 1) {
      scaled /= 1024;
      unit++;
    }
    return String.format(Locale.ROOT, "%.1f%c", scaled, units.charAt(unit));
  }

  private static String age(Instant at, Instant now) {
    long seconds = Math.max(0, Duration.between(at, now).toSeconds());
    return seconds < 120 ? seconds + "s" : seconds / 60 + "m";
  }

  private static Instant toInstant(Timestamp t) {
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
  }

  private static String json(MessageOrBuilder message, boolean oneLine) {
    try {
      var printer = JsonFormat.printer();
      return oneLine
          ? printer.omittingInsignificantWhitespace().print(message)
          : printer.print(message);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }
}
