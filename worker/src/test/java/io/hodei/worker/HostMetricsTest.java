package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /proc/stat}, {@code meminfo} and {@code loadavg} samples, then this machine's. */
class HostMetricsTest {
  @TempDir Path proc;

  @Test
  void cpuTimesCountEverythingButIdleAndIowaitAsBusy() throws IOException {
    Files.writeString(
        proc.resolve("stat"),
        """
        cpu  100 5 50 800 40 1 2 2 30 0
        cpu0 50 2 25 400 20 1 1 1 15 0
        cpu1 50 3 25 400 20 0 1 1 15 0
        intr 12345 0 0
        ctxt 999
        btime 1700000000
        """);

    var times = new HostMetrics(proc).cpuTimes().orElseThrow();

    // guest (30) is part of user already: total = 100+5+50+800+40+1+2+2.
    assertThat(times.totalTicks()).isEqualTo(1000);
    assertThat(times.busyTicks()).isEqualTo(160);
    assertThat(times.cpuCount()).isEqualTo(2);
  }

  @Test
  void memoryIsTotalAndAvailable() throws IOException {
    Files.writeString(
        proc.resolve("meminfo"),
        """
        MemTotal:       16000000 kB
        MemFree:         1000000 kB
        MemAvailable:    6000000 kB
        Buffers:          100000 kB
        Cached:          4000000 kB
        """);

    var memory = new HostMetrics(proc).memory().orElseThrow();

    assertThat(memory.totalBytes()).isEqualTo(16_000_000L * 1024);
    assertThat(memory.usedBytes()).isEqualTo(10_000_000L * 1024);
  }

  @Test
  void withoutMemAvailableFreeBuffersAndCachedCountAsAvailable() throws IOException {
    Files.writeString(
        proc.resolve("meminfo"),
        "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n");

    assertThat(new HostMetrics(proc).memory().orElseThrow().usedBytes()).isEqualTo(600 * 1024);
  }

  @Test
  void theLoadAverageIsTheFirstField() throws IOException {
    Files.writeString(proc.resolve("loadavg"), "2.03 1.59 1.24 3/202 8098\n");

    assertThat(new HostMetrics(proc).loadAverage1m()).hasValue(2.03);
  }

  @Test
  void missingOrMalformedFilesGiveNothing() throws IOException {
    var host = new HostMetrics(proc);
    assertThat(host.cpuTimes()).isEmpty();
    assertThat(host.memory()).isEmpty();
    assertThat(host.loadAverage1m()).isEmpty();

    Files.writeString(proc.resolve("stat"), "cpu  a b c d\n");
    Files.writeString(proc.resolve("loadavg"), "high\n");
    assertThat(host.cpuTimes()).isEmpty();
    assertThat(host.loadAverage1m()).isEmpty();
  }

  @Test
  void thisMachinesProcGivesPlausibleFigures() {
    var host = new HostMetrics(Path.of("/proc"));

    var times = host.cpuTimes().orElseThrow();
    assertThat(times.cpuCount()).isPositive();
    assertThat(times.busyTicks()).isPositive().isLessThan(times.totalTicks());
    var memory = host.memory().orElseThrow();
    assertThat(memory.totalBytes()).isPositive();
    assertThat(memory.usedBytes()).isPositive().isLessThan(memory.totalBytes());
    assertThat(host.loadAverage1m()).isPresent();
  }
}
