package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How {@link JobCgroups} reads the machine's cgroup layout and what it writes for a job, on the
 * three layouts, with the hierarchies laid out as plain directories (the kernel's files are plain
 * files there, so what is written can be read back). The real kernel is {@link JobIsolationTest}'s.
 */
class JobCgroupsTest {
  @TempDir Path root;

  private static String mount(int id, Path at, String type, String options) {
    return id + " 30 0:" + id + " / " + at + " rw,relatime - " + type + " " + type + " " + options;
  }

  @Test
  void onAHybridMachineLimitsGoToV1AndTheKillToV2() throws IOException {
    for (String c : List.of("cpu", "memory", "pids", "freezer")) {
      Files.createDirectories(root.resolve(c).resolve("workers/w1"));
    }
    Files.createDirectories(root.resolve("unified/workers/w1"));
    var cgroups =
        JobCgroups.detect(
            List.of(
                mount(32, root.resolve("cpu"), "cgroup", "rw,cpu"),
                mount(35, root.resolve("memory"), "cgroup", "rw,memory"),
                mount(37, root.resolve("freezer"), "cgroup", "rw,freezer"),
                mount(39, root.resolve("pids"), "cgroup", "rw,pids"),
                mount(41, root.resolve("unified"), "cgroup2", "rw")),
            List.of("8:pids:/workers/w1", "6:freezer:/workers/w1", "4:memory:/workers/w1", "1:cpu:/workers/w1", "0::/workers/w1"));

    assertThat(cgroups.available()).isTrue();
    assertThat(cgroups.missing()).isEmpty();
    var job = cgroups.create("job-e1", 1.5, 64L << 20, 40);

    Path v1 = Path.of("workers/w1/job-e1");
    assertThat(root.resolve("pids").resolve(v1).resolve("pids.max")).hasContent("40");
    assertThat(root.resolve("memory").resolve(v1).resolve("memory.limit_in_bytes")).hasContent(Long.toString(64L << 20));
    assertThat(root.resolve("cpu").resolve(v1).resolve("cpu.cfs_quota_us")).hasContent("150000");
    assertThat(root.resolve("cpu").resolve(v1).resolve("cpu.cfs_period_us")).hasContent("100000");
    assertThat(job.procsFiles())
        .containsExactlyInAnyOrder(
            root.resolve("cpu").resolve(v1).resolve("cgroup.procs"),
            root.resolve("memory").resolve(v1).resolve("cgroup.procs"),
            root.resolve("pids").resolve(v1).resolve("cgroup.procs"),
            root.resolve("unified").resolve(v1).resolve("cgroup.procs"));
    assertThat(root.resolve("freezer").resolve(v1)).as("v2's cgroup.kill makes the freezer unneeded").doesNotExist();
  }

  @Test
  void aJobCgroupIsMadeOnlyWhereItsLimitsAreAndAWorkersEverywhere() throws IOException {
    for (String c : List.of("cpu", "memory", "pids", "freezer")) {
      Files.createDirectories(root.resolve(c));
    }
    var cgroups =
        JobCgroups.detect(
            List.of(
                mount(32, root.resolve("cpu"), "cgroup", "rw,cpu"),
                mount(35, root.resolve("memory"), "cgroup", "rw,memory"),
                mount(37, root.resolve("freezer"), "cgroup", "rw,freezer"),
                mount(39, root.resolve("pids"), "cgroup", "rw,pids")),
            List.of("8:pids:/", "6:freezer:/", "4:memory:/", "1:cpu:/"));

    var job = cgroups.create("job-e4", 0, 0, 10);
    var worker = cgroups.createEverywhere("hodei-worker-w1");

    // Without v2 the freezer holds the kill; nothing asked for memory or cpu.
    assertThat(job.procsFiles())
        .containsExactlyInAnyOrder(
            root.resolve("pids/job-e4/cgroup.procs"), root.resolve("freezer/job-e4/cgroup.procs"));
    assertThat(worker.procsFiles()).hasSize(4);
  }

  @Test
  void onAPureV2MachineTheWorkerMovesIntoALeafAndDelegatesTheControllersToItsJobs() throws IOException {
    Path own = Files.createDirectories(root.resolve("cg/user.slice/hodei"));
    Files.writeString(own.resolve("cgroup.controllers"), "cpuset cpu io memory pids\n");
    var cgroups =
        JobCgroups.detect(List.of(mount(30, root.resolve("cg"), "cgroup2", "rw,nsdelegate")), List.of("0::/user.slice/hodei"));

    assertThat(cgroups.missing()).isEmpty();
    assertThat(own.resolve("self/cgroup.procs")).hasContent(Long.toString(ProcessHandle.current().pid()));
    assertThat(Files.readString(own.resolve("cgroup.subtree_control")).split(" "))
        .containsExactlyInAnyOrder("+cpu", "+memory", "+pids");
    cgroups.create("job-e2", 0.5, 1L << 30, 100);
    assertThat(own.resolve("job-e2/cpu.max")).hasContent("50000 100000");
    assertThat(own.resolve("job-e2/memory.max")).hasContent(Long.toString(1L << 30));
    assertThat(own.resolve("job-e2/pids.max")).hasContent("100");
  }

  @Test
  void readOnlyOrMissingHierarchiesAreNamedAsWhatTheJobsLack() {
    var cgroups =
        JobCgroups.detect(
            List.of("41 31 0:38 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 ro"), List.of("0::/"));

    assertThat(cgroups.available()).isFalse();
    assertThat(cgroups.missing())
        .anySatisfy(m -> assertThat(m).contains("no memory controller"))
        .anySatisfy(m -> assertThat(m).contains("no pids controller"))
        .anySatisfy(m -> assertThat(m).contains("cgroup.kill"));
  }

  @Test
  void aContainersCgroupRootIsResolvedAgainstTheMountsRoot() throws IOException {
    // In a cgroup namespace the mount's root is the container's cgroup; /proc/self/cgroup is relative to it.
    Files.createDirectories(root.resolve("pids/inner"));
    var cgroups =
        JobCgroups.detect(
            List.of("39 31 0:36 /docker/abc " + root.resolve("pids") + " rw,relatime - cgroup cgroup rw,pids"),
            List.of("8:pids:/docker/abc/inner"));

    var job = cgroups.create("job-e3", 0, 0, 7);
    assertThat(root.resolve("pids/inner/job-e3/pids.max")).hasContent("7");
    assertThat(job.procsFiles()).containsExactly(root.resolve("pids/inner/job-e3/cgroup.procs"));
  }
}
