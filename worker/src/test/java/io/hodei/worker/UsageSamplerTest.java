package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import io.hodei.api.v1.JobUsage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Samples from cgroup and {@code /proc} files in a temporary directory, with the sampler's clocks
 * under the test's control; then from this machine.
 */
class UsageSamplerTest {
  @TempDir Path dir;
  final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  Instant now = Instant.parse("2026-01-01T00:00:00Z");
  final List<UsageSampler.JobProcess> jobs = new ArrayList<>();

  private void write(String relative, String content) throws IOException {
    Path file = dir.resolve(relative);
    Files.createDirectories(file.getParent());
    Files.writeString(file, content);
  }

  private void cgroupV2(long usageUsec, long memory, long pids) throws IOException {
    write("cgroup/cgroup.controllers", "cpu io memory pids\n");
    write("cgroup/cpu.stat", "usage_usec " + usageUsec + "\n");
    write("cgroup/memory.current", memory + "\n");
    write("cgroup/io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=1\n");
    write("cgroup/pids.current", pids + "\n");
    write("self-cgroup", "0::/\n");
  }

  private void host(long busy, long idle) throws IOException {
    write(
        "proc/stat",
        "cpu  %d 0 0 %d 0 0 0 0 0 0\ncpu0 0 0 0 0\ncpu1 0 0 0 0\ncpu2 0 0 0 0\ncpu3 0 0 0 0\n"
            .formatted(busy, idle));
    write("proc/meminfo", "MemTotal: 8000 kB\nMemAvailable: 2000 kB\n");
    write("proc/loadavg", "0.50 0.40 0.30 1/100 42\n");
  }

  private void process(long pid, long parent, long group, long ticks, int threads, long rssKib)
      throws IOException {
    write(
        "proc/" + pid + "/stat",
        "%d (p) S %d %d %d 0 -1 0 0 0 0 0 %d 0 0 0 20 0 %d 0 1 1 1\n"
            .formatted(pid, parent, group, group, ticks, threads));
    write("proc/" + pid + "/status", "VmRSS:\t%d kB\n".formatted(rssKib));
  }

  private UsageSampler sampler() {
    return new UsageSampler(
        Duration.ofSeconds(35),
        CgroupMetrics.detect(dir.resolve("cgroup"), dir.resolve("self-cgroup")),
        dir.resolve("proc"),
        100,
        () -> List.copyOf(jobs),
        InstantSource.fixed(now),
        nanos::get);
  }

  @Test
  void cpuIsCpuTimeUsedOverWallTimeBetweenTwoSamples() throws IOException {
    cgroupV2(1_000_000, 4096, 9);
    host(100, 900);
    var sampler = sampler();

    var first = sampler.sample();
    cgroupV2(4_000_000, 8192, 11); // 3 s of cpu time...
    host(700, 1500); // ...the machine: 600 of 1200 ticks busy, on 4 cpus
    nanos.addAndGet(TimeUnit.SECONDS.toNanos(2)); // ...in 2 s
    var second = sampler.sample();

    assertThat(first.usage().getCpuCores()).isZero();
    assertThat(second.usage().getCpuCores()).isCloseTo(1.5, within(1e-9));
    assertThat(second.usage().getMemoryBytes()).isEqualTo(8192);
    assertThat(second.usage().getPids()).isEqualTo(11);
    assertThat(second.usage().getIoReadBytes()).isEqualTo(100);
    assertThat(second.usage().getIoWriteBytes()).isEqualTo(200);
    assertThat(second.usage().getCollectedAt().getSeconds()).isEqualTo(now.getEpochSecond());
    assertThat(second.host().getCpuCount()).isEqualTo(4);
    assertThat(second.host().getCpuCores()).isCloseTo(2.0, within(1e-9));
    assertThat(second.host().getMemoryTotalBytes()).isEqualTo(8000 * 1024);
    assertThat(second.host().getMemoryUsedBytes()).isEqualTo(6000 * 1024);
    assertThat(second.host().getLoadAverage()).isEqualTo(0.5);
  }

  @Test
  void aCounterThatWentBackwardsGivesNoCpuRatherThanANegativeOne() throws IOException {
    cgroupV2(9_000_000, 1, 1);
    host(100, 900);
    var sampler = sampler();
    sampler.sample();
    cgroupV2(1_000, 1, 1);
    nanos.addAndGet(1_000_000_000L);

    assertThat(sampler.sample().usage().getCpuCores()).isZero();
  }

  @Test
  void aJobsUsageIsItsProcessGroupAndItsCpuRateIsSinceStartThenSinceTheLastSample()
      throws IOException {
    cgroupV2(0, 1, 1);
    host(0, 0);
    process(100, 1, 100, 1000, 20, 100_000); // the worker
    process(200, 100, 200, 300, 1, 2_000); // the job's group, started 10 s ago...
    process(201, 200, 200, 100, 2, 1_000); // ...has used 4 s of cpu
    jobs.add(
        new UsageSampler.JobProcess("job-1", "e-1", 200, true, Optional.of(now.minusSeconds(10))));
    var sampler = sampler();

    var first = sampler.sample();
    process(200, 100, 200, 500, 1, 2_000); // +2 s of cpu in 4 s
    nanos.addAndGet(TimeUnit.SECONDS.toNanos(4));
    var second = sampler.sample();

    JobUsage job = first.jobs().getFirst();
    assertThat(job.getJobId()).isEqualTo("job-1");
    assertThat(job.getExecutionId()).isEqualTo("e-1");
    assertThat(job.getUsage().getCpuCores()).isCloseTo(0.4, within(1e-9));
    assertThat(job.getUsage().getMemoryBytes()).isEqualTo(3_000 * 1024);
    assertThat(job.getUsage().getPids()).isEqualTo(3);
    assertThat(second.jobs().getFirst().getUsage().getCpuCores()).isCloseTo(0.5, within(1e-9));
  }

  @Test
  void aJobWhoseProcessesEndedIsLeftOut() throws IOException {
    cgroupV2(0, 1, 1);
    host(0, 0);
    Files.createDirectories(dir.resolve("proc"));
    jobs.add(new UsageSampler.JobProcess("job-1", "e-1", 200, true, Optional.empty()));

    assertThat(sampler().sample().jobs()).isEmpty();
  }

  @Test
  void figuresTheCgroupLacksComeFromTheWorkersProcessTree() throws IOException {
    write("cgroup/cpuacct/cpuacct.usage", "5000000000\n");
    write("self-cgroup", "2:cpuacct:/\n");
    host(0, 0);
    process(100, 1, 100, 1000, 20, 100_000);
    process(200, 100, 200, 300, 1, 2_000);
    process(300, 1, 300, 7, 1, 7);

    var usage = sampler().sample().usage();

    assertThat(usage.getMemoryBytes()).isEqualTo(102_000 * 1024);
    assertThat(usage.getPids()).isEqualTo(21);
    assertThat(usage.getIoReadBytes()).isZero();
  }

  @Test
  void aCgroupTheWorkerSharesWithOtherProcessesGivesWayToItsProcessTree() throws IOException {
    cgroupV2(1_000_000, 999_999, 99);
    write("cgroup/cgroup.procs", "100\n200\n300\n");
    host(0, 0);
    process(100, 1, 100, 1000, 20, 100_000); // the worker
    process(200, 100, 200, 300, 1, 2_000); // its job
    process(300, 1, 300, 7, 1, 7); // somebody else

    var usage = sampler().sample().usage();

    assertThat(usage.getMemoryBytes()).isEqualTo(102_000 * 1024);
    assertThat(usage.getPids()).isEqualTo(21);
    assertThat(usage.getIoReadBytes()).isZero();
  }

  @Test
  void aCgroupHoldingOnlyTheWorkersLineageAndItsJobsGroupsIsItsOwn() throws IOException {
    cgroupV2(1_000_000, 999_999, 99);
    write("cgroup/cgroup.procs", "1\n100\n200\n202\n");
    host(0, 0);
    process(1, 0, 1, 0, 1, 1); // a container's init
    process(100, 1, 100, 1000, 20, 100_000); // the worker
    process(200, 100, 200, 300, 1, 2_000); // its job
    process(202, 1, 200, 3, 1, 1); // the job's orphan
    jobs.add(new UsageSampler.JobProcess("job-1", "e-1", 200, true, Optional.empty()));

    var usage = sampler().sample().usage();

    assertThat(usage.getMemoryBytes()).isEqualTo(999_999);
    assertThat(usage.getPids()).isEqualTo(99);
    assertThat(usage.getIoReadBytes()).isEqualTo(100);
  }

  @Test
  void withoutAnyCgroupTheWorkersCpuIsItsProcessTrees() throws IOException {
    Files.createDirectories(dir.resolve("cgroup"));
    write("self-cgroup", "0::/\n");
    host(0, 0);
    process(100, 1, 100, 100, 1, 1);
    var sampler = sampler();
    sampler.sample();
    process(100, 1, 100, 150, 1, 1); // +0.5 s of cpu in 1 s
    nanos.addAndGet(TimeUnit.SECONDS.toNanos(1));

    assertThat(sampler.sample().usage().getCpuCores()).isCloseTo(0.5, within(1e-9));
  }

  @Test
  void theSamplerOfThisProcessPublishesASampleSoonAfterStartWithoutBeingAsked() {
    try (var sampler = UsageSampler.forThisProcess(Duration.ofMinutes(5), List::of)) {
      assertThat(sampler.latest()).isEmpty();
      sampler.start();

      var sample =
          await().atMost(Duration.ofSeconds(20)).until(sampler::latest, Optional::isPresent).get();

      assertThat(sample.usage().hasCollectedAt()).isTrue();
      assertThat(sample.usage().getMemoryBytes()).isPositive();
      assertThat(sample.usage().getPids()).isPositive();
      assertThat(sample.host().getMemoryTotalBytes()).isPositive();
      assertThat(sample.host().getCpuCount()).isPositive();
    }
  }
}
