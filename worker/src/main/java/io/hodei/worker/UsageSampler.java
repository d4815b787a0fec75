package io.hodei.worker;

import io.hodei.api.v1.HostUsage;
import io.hodei.api.v1.JobUsage;
import io.hodei.api.v1.ResourceUsage;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's resource usage, sampled in the background and cached, so that a heartbeat only reads
 * {@link #latest()}, a volatile field, and never waits on file I/O.
 *
 * <p>One virtual thread, {@code worker-metrics}, samples once at {@link #start()} (the baseline for
 * cpu rates), again after {@link #PRIMING} (or the TTL if shorter) so that the first heartbeats
 * already carry figures, then once per TTL: a published sample is at most one TTL old while the
 * sampler runs. {@code collected_at} says when each was taken.
 *
 * <p>A sample holds: the worker's cgroup ({@link CgroupMetrics}); the machine ({@link
 * HostMetrics}); and each running job's process group, or its process tree when jobs don't get a
 * group of their own ({@link ProcessTable}). A figure the cgroup lacks (no cgroup readable, a
 * controller or file missing, or a cgroup the worker shares with processes that are not its own, as
 * workers started by {@code hodei dev} do) is taken from the worker's process tree instead: the JVM
 * and its descendants, threads counted as pids; I/O then reads 0. The worker's own processes are
 * its lineage (itself, its descendants, its ancestors such as a container's init) and the process
 * groups of its running jobs, which keep a job's orphans. Cpu figures are rates: cpu time used
 * between two samples over the wall time between them (a job's first sample: since its process
 * started). A counter that went backwards (its cgroup was recreated) gives 0 for that interval.
 *
 * <p>Thread-safety: {@link #sample()} is synchronized, and the previous readings it compares
 * against are guarded by that monitor; {@link #latest()} may be called from any thread.
 */
final class UsageSampler implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(UsageSampler.class);

  /** How soon after the baseline the first sample is published. */
  static final Duration PRIMING = Duration.ofSeconds(1);

  private static final long NANOS_PER_TICK = 1_000_000_000L / ProcessTable.TICKS_PER_SECOND;
  private static final CgroupMetrics.Counters NO_CGROUP =
      new CgroupMetrics.Counters(
          CgroupMetrics.UNKNOWN,
          CgroupMetrics.UNKNOWN,
          CgroupMetrics.UNKNOWN,
          CgroupMetrics.UNKNOWN,
          CgroupMetrics.UNKNOWN);

  /**
   * A running job's process: its pid, and whether that pid is also its process group's id.
   *
   * @param startedAt when the process started, if the system says
   * @param sandboxHelpers how many generations below {@code pid} are the sandbox's own processes
   *     rather than the job's (its usage is that of the processes below them)
   */
  record JobProcess(
      String jobId,
      String executionId,
      long pid,
      boolean ownProcessGroup,
      Optional<Instant> startedAt,
      int sandboxHelpers) {
    JobProcess(String jobId, String executionId, long pid, boolean ownProcessGroup, Optional<Instant> startedAt) {
      this(jobId, executionId, pid, ownProcessGroup, startedAt, 0);
    }
  }

  /** One sample, as heartbeats carry it. Immutable. */
  record Snapshot(ResourceUsage usage, HostUsage host, List<JobUsage> jobs) {
    Snapshot {
      jobs = List.copyOf(jobs);
    }
  }

  /** What a sample is compared against. */
  private record Reading(
      long atNanos,
      long workerCpuNanos,
      long hostBusy,
      long hostTotal,
      Map<String, Long> jobTicks) {}

  private final Duration ttl;
  private final Optional<CgroupMetrics> cgroup;
  private final HostMetrics host;
  private final Path proc;
  private final long selfPid;
  private final Supplier<List<JobProcess>> jobs;
  private final InstantSource clock;
  private final LongSupplier nanoTime;
  private final CompletableFuture<Void> closed = new CompletableFuture<>();
  private volatile Optional<Snapshot> latest = Optional.empty();
  // Guarded by this.
  private Reading previous;

  /**
   * @param proc the {@code /proc} directory
   * @param selfPid the worker's pid, root of the process tree used where the cgroup lacks a figure
   * @param jobs the jobs running now; called on the sampling thread, must not block
   */
  UsageSampler(
      Duration ttl,
      Optional<CgroupMetrics> cgroup,
      Path proc,
      long selfPid,
      Supplier<List<JobProcess>> jobs,
      InstantSource clock,
      LongSupplier nanoTime) {
    this.ttl = ttl;
    this.cgroup = cgroup;
    this.host = new HostMetrics(proc);
    this.proc = proc;
    this.selfPid = selfPid;
    this.jobs = jobs;
    this.clock = clock;
    this.nanoTime = nanoTime;
  }

  /** This process, its cgroup under {@code /sys/fs/cgroup} and the machine's {@code /proc}. */
  static UsageSampler forThisProcess(Duration ttl, Supplier<List<JobProcess>> jobs) {
    return new UsageSampler(
        ttl,
        CgroupMetrics.ofThisProcess(),
        Path.of("/proc"),
        ProcessHandle.current().pid(),
        jobs,
        InstantSource.system(),
        System::nanoTime);
  }

  /** Starts the sampling thread. Once. */
  void start() {
    log.info(
        "resource usage sampled every {} from {}",
        ttl,
        cgroup
            .map(
                c ->
                    "cgroup "
                        + c.describe()
                        + " where the worker has it to itself, else its processes")
            .orElse("the worker's processes (no cgroup readable)"));
    Thread.ofVirtual().name("worker-metrics").start(this::run);
  }

  /** The newest published sample; empty until the first one. Never blocks. */
  Optional<Snapshot> latest() {
    return latest;
  }

  /** Stops the sampling thread; idempotent. */
  @Override
  public void close() {
    closed.complete(null);
  }

  private void run() {
    Duration wait = PRIMING.compareTo(ttl) < 0 ? PRIMING : ttl;
    sampleLogged();
    while (!closedWithin(wait)) {
      sampleLogged().ifPresent(s -> latest = Optional.of(s));
      wait = ttl;
    }
  }

  private Optional<Snapshot> sampleLogged() {
    try {
      return Optional.of(sample());
    } catch (RuntimeException e) {
      log.warn("sampling resource usage failed; trying again in {}", ttl, e);
      return Optional.empty();
    }
  }

  private boolean closedWithin(Duration wait) {
    try {
      closed.get(wait.toNanos(), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return true;
    } catch (ExecutionException e) {
      throw new IllegalStateException("closed never fails", e);
    }
  }

  /** Takes one sample now, on the caller's thread, compared with the one before. */
  synchronized Snapshot sample() {
    long nowNanos = nanoTime.getAsLong();
    Instant at = clock.instant();
    var collectedAt = Protos.timestamp(at);
    List<JobProcess> running = jobs.get();
    ProcessTable table = ProcessTable.read(proc);
    Set<Long> ours = new HashSet<>(table.lineage(selfPid));
    for (JobProcess job : running) {
      if (job.ownProcessGroup()) {
        ours.addAll(table.groupMembers(job.pid()));
      }
    }
    CgroupMetrics.Counters counters = cgroup.map(c -> c.read(ours::contains)).orElse(NO_CGROUP);
    boolean cgroupLacks =
        counters.cpuUsageNanos() == CgroupMetrics.UNKNOWN
            || counters.memoryBytes() == CgroupMetrics.UNKNOWN
            || counters.pids() == CgroupMetrics.UNKNOWN;
    ProcessTable.Totals self = cgroupLacks ? table.tree(selfPid) : ProcessTable.Totals.NONE;

    long workerCpu =
        known(counters.cpuUsageNanos())
            ? counters.cpuUsageNanos()
            : self.cpuTicks() * NANOS_PER_TICK;
    ResourceUsage usage =
        ResourceUsage.newBuilder()
            .setCpuCores(
                previous == null
                    ? 0
                    : rate(previous.workerCpuNanos(), workerCpu, nowNanos - previous.atNanos()))
            .setMemoryBytes(
                known(counters.memoryBytes()) ? counters.memoryBytes() : self.rssBytes())
            .setIoReadBytes(Math.max(0, counters.ioReadBytes()))
            .setIoWriteBytes(Math.max(0, counters.ioWriteBytes()))
            .setPids((int) (known(counters.pids()) ? counters.pids() : self.threads()))
            .setCollectedAt(collectedAt)
            .build();

    var hostUsage = HostUsage.newBuilder().setCollectedAt(collectedAt);
    var cpuTimes = host.cpuTimes();
    cpuTimes.ifPresent(
        t -> {
          hostUsage.setCpuCount(t.cpuCount());
          if (previous != null && t.totalTicks() > previous.hostTotal()) {
            long busy = Math.max(0, t.busyTicks() - previous.hostBusy());
            hostUsage.setCpuCores(
                (double) busy / (t.totalTicks() - previous.hostTotal()) * t.cpuCount());
          }
        });
    host.memory()
        .ifPresent(
            m -> hostUsage.setMemoryTotalBytes(m.totalBytes()).setMemoryUsedBytes(m.usedBytes()));
    host.loadAverage1m().ifPresent(hostUsage::setLoadAverage);

    List<JobUsage> jobUsage = new ArrayList<>();
    Map<String, Long> jobTicks = new HashMap<>();
    for (JobProcess job : running) {
      ProcessTable.Totals totals =
          job.ownProcessGroup() ? table.group(job.pid()) : table.treeBelow(job.pid(), job.sandboxHelpers());
      if (totals.processes() == 0) {
        continue; // ended since it was listed
      }
      jobTicks.put(job.executionId(), totals.cpuTicks());
      Long before = previous == null ? null : previous.jobTicks().get(job.executionId());
      double cores;
      if (before != null) {
        cores =
            rate(
                before * NANOS_PER_TICK,
                totals.cpuTicks() * NANOS_PER_TICK,
                nowNanos - previous.atNanos());
      } else {
        cores =
            job.startedAt()
                .map(started -> Duration.between(started, at).toNanos())
                .map(lifetime -> rate(0, totals.cpuTicks() * NANOS_PER_TICK, lifetime))
                .orElse(0.0);
      }
      jobUsage.add(
          JobUsage.newBuilder()
              .setJobId(job.jobId())
              .setExecutionId(job.executionId())
              .setUsage(
                  ResourceUsage.newBuilder()
                      .setCpuCores(cores)
                      .setMemoryBytes(totals.rssBytes())
                      .setPids(totals.threads())
                      .setCollectedAt(collectedAt))
              .build());
    }

    previous =
        new Reading(
            nowNanos,
            workerCpu,
            cpuTimes.map(HostMetrics.CpuTimes::busyTicks).orElse(0L),
            cpuTimes.map(HostMetrics.CpuTimes::totalTicks).orElse(0L),
            jobTicks);
    return new Snapshot(usage, hostUsage.build(), jobUsage);
  }

  private static boolean known(long value) {
    return value != CgroupMetrics.UNKNOWN;
  }

  /** Cores busy: cpu time used over wall time; 0 when either is unknown or went backwards. */
  private static double rate(long cpuBefore, long cpuNow, long wallNanos) {
    if (wallNanos <= 0 || cpuBefore < 0 || cpuNow < cpuBefore) {
      return 0;
    }
    return (double) (cpuNow - cpuBefore) / wallNanos;
  }
}
