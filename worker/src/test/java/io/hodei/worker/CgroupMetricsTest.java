package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** cgroup v1 and v2 layouts written to a temporary directory, then this machine's own. */
class CgroupMetricsTest {
  @TempDir Path dir;

  private Path write(String relative, String content) throws IOException {
    Path file = dir.resolve(relative);
    Files.createDirectories(file.getParent());
    Files.writeString(file, content);
    return file;
  }

  @Test
  void aV2CgroupIsReadFromTheUnifiedHierarchyAtThePathProcSelfCgroupNames() throws IOException {
    write("cgroup/cgroup.controllers", "cpu io memory pids\n");
    write(
        "cgroup/system.slice/hodei.service/cpu.stat",
        "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n");
    write("cgroup/system.slice/hodei.service/memory.current", "104857600\n");
    write(
        "cgroup/system.slice/hodei.service/io.stat",
        "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"
            + "8:16 rbytes=1000 wbytes=24 rios=1 wios=1 dbytes=0 dios=0\n");
    write("cgroup/system.slice/hodei.service/pids.current", "42\n");
    Path self = write("self-cgroup", "0::/system.slice/hodei.service\n");

    var cgroup = CgroupMetrics.detect(dir.resolve("cgroup"), self).orElseThrow();

    assertThat(cgroup.version()).isEqualTo(CgroupMetrics.Version.V2);
    assertThat(cgroup.read())
        .isEqualTo(new CgroupMetrics.Counters(2_500_000_000L, 104_857_600, 5096, 8216, 42));
  }

  @Test
  void aV1CgroupIsReadPerControllerEachAtItsOwnPath() throws IOException {
    write("cgroup/cpu,cpuacct/user.slice/cpuacct.usage", "123456789\n");
    write("cgroup/memory/process_api/abc/memory.usage_in_bytes", "2048\n");
    write(
        "cgroup/blkio/blkio.throttle.io_service_bytes",
        "8:0 Read 4096\n8:0 Write 512\n8:0 Sync 4608\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 4608\n"
            + "8:16 Read 4\n8:16 Write 6\n8:16 Total 10\nTotal 4618\n");
    write("cgroup/pids/user.slice/pids.current", "7\n");
    Path self =
        write(
            "self-cgroup",
            "9:name=systemd:/\n8:pids:/user.slice\n7:blkio:/\n4:memory:/process_api/abc\n"
                + "2:cpu,cpuacct:/user.slice\n0::/\n");

    var cgroup = CgroupMetrics.detect(dir.resolve("cgroup"), self).orElseThrow();

    assertThat(cgroup.version()).isEqualTo(CgroupMetrics.Version.V1);
    assertThat(cgroup.read()).isEqualTo(new CgroupMetrics.Counters(123456789, 2048, 4100, 518, 7));
  }

  @Test
  void insideAContainerTheHierarchysRootIsTheWorkersCgroup() throws IOException {
    // /proc/self/cgroup names the host's path, which this mount does not have.
    write("cgroup/cgroup.controllers", "cpu memory pids\n");
    write("cgroup/cpu.stat", "usage_usec 10\n");
    write("cgroup/memory.current", "99\n");
    write("cgroup/pids.current", "3\n");
    Path self = write("self-cgroup", "0::/system.slice/docker-0123abcd.scope\n");

    var counters = CgroupMetrics.detect(dir.resolve("cgroup"), self).orElseThrow().read();

    assertThat(counters.cpuUsageNanos()).isEqualTo(10_000);
    assertThat(counters.memoryBytes()).isEqualTo(99);
    assertThat(counters.pids()).isEqualTo(3);
  }

  @Test
  void figuresTheMachineDoesNotOfferAreUnknown() throws IOException {
    // A v2 root: cpu.stat, but neither memory.current nor pids.current, and no io.stat.
    write("cgroup/cgroup.controllers", "cpu memory pids\n");
    write("cgroup/cpu.stat", "usage_usec 5\n");
    Path self = write("self-cgroup", "0::/\n");

    var counters = CgroupMetrics.detect(dir.resolve("cgroup"), self).orElseThrow().read();

    assertThat(counters)
        .isEqualTo(
            new CgroupMetrics.Counters(
                5000,
                CgroupMetrics.UNKNOWN,
                CgroupMetrics.UNKNOWN,
                CgroupMetrics.UNKNOWN,
                CgroupMetrics.UNKNOWN));
  }

  @Test
  void aV1MachineWithoutSomeControllersReadsTheOthers() throws IOException {
    write("cgroup/memory/memory.usage_in_bytes", "not a number\n");
    write("cgroup/cpuacct/cpuacct.usage", "77\n");
    Path self = write("self-cgroup", "4:memory:/\n2:cpuacct:/\n");

    var counters = CgroupMetrics.detect(dir.resolve("cgroup"), self).orElseThrow().read();

    assertThat(counters.cpuUsageNanos()).isEqualTo(77);
    assertThat(counters.memoryBytes()).isEqualTo(CgroupMetrics.UNKNOWN);
    assertThat(counters.ioReadBytes()).isEqualTo(CgroupMetrics.UNKNOWN);
    assertThat(counters.pids()).isEqualTo(CgroupMetrics.UNKNOWN);
  }

  @Test
  void aCgroupHoldingProcessesThatAreNotTheWorkersReadsAsUnknown() throws IOException {
    write("cgroup/cpuacct/cpuacct.usage", "77\n");
    write("cgroup/cpuacct/cgroup.procs", "10\n11\n");
    write("cgroup/memory/shared/memory.usage_in_bytes", "2048\n");
    write("cgroup/memory/shared/cgroup.procs", "10\n11\n4242\n");
    Path self = write("self-cgroup", "4:memory:/shared\n2:cpuacct:/\n");
    var cgroup = CgroupMetrics.detect(dir.resolve("cgroup"), self).orElseThrow();

    var counters = cgroup.read(pid -> pid == 10 || pid == 11);

    assertThat(counters.cpuUsageNanos()).isEqualTo(77);
    assertThat(counters.memoryBytes()).isEqualTo(CgroupMetrics.UNKNOWN);
    assertThat(cgroup.read().memoryBytes()).isEqualTo(2048);
  }

  @Test
  void noHierarchyOrNoMembershipFileMeansNoCgroup() throws IOException {
    Files.createDirectories(dir.resolve("cgroup"));
    Path self = write("self-cgroup", "0::/\n");

    assertThat(CgroupMetrics.detect(dir.resolve("cgroup"), self)).isEmpty();
    assertThat(CgroupMetrics.detect(dir.resolve("cgroup"), dir.resolve("missing"))).isEmpty();
  }

  @Test
  void aPathThatClimbsOutOfTheMountIsNotFollowed() throws IOException {
    write("cgroup/cgroup.controllers", "cpu\n");
    write("cgroup/cpu.stat", "usage_usec 1\n");
    write("cpu.stat", "usage_usec 999\n");
    Path self = write("self-cgroup", "0::/../\n");

    var counters = CgroupMetrics.detect(dir.resolve("cgroup"), self).orElseThrow().read();

    assertThat(counters.cpuUsageNanos()).isEqualTo(1000);
  }

  @Test
  void thisMachinesOwnCgroupGivesPlausibleFigures() {
    var cgroup = CgroupMetrics.ofThisProcess();
    assumeTrue(
        cgroup.isPresent(),
        "neither cgroup v1 nor v2 is readable under /sys/fs/cgroup (or /proc/self/cgroup is"
            + " missing); nothing to read on this machine");

    var counters = cgroup.get().read();

    // The JVM running this test has used cpu time and holds memory in its own cgroup.
    assertThat(counters.cpuUsageNanos()).as(cgroup.get().describe()).isPositive();
    assertThat(counters.memoryBytes()).as(cgroup.get().describe()).isPositive();
    assertThat(counters.ioReadBytes()).isGreaterThanOrEqualTo(CgroupMetrics.UNKNOWN);
    var later = cgroup.get().read();
    assertThat(later.cpuUsageNanos()).isGreaterThanOrEqualTo(counters.cpuUsageNanos());
  }
}
