package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A {@code /proc} tree written to a temporary directory, then this machine's. */
class ProcessTableTest {
  @TempDir Path proc;

  /** Writes {@code <pid>/stat} and {@code <pid>/status} as Linux does. */
  private void process(
      long pid, String comm, long parent, long group, long[] ticks, int threads, long rssKib)
      throws IOException {
    Path dir = Files.createDirectories(proc.resolve(Long.toString(pid)));
    Files.writeString(
        dir.resolve("stat"),
        "%d (%s) S %d %d %d 0 -1 4194560 100 0 0 0 %d %d %d %d 20 0 %d 0 12345 1000 100"
                .formatted(
                    pid, comm, parent, group, group, ticks[0], ticks[1], ticks[2], ticks[3],
                    threads)
            + " 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
    Files.writeString(
        dir.resolve("status"),
        "Name:\t%s\nState:\tS (sleeping)\nVmPeak:\t  9999 kB\nVmRSS:\t  %d kB\nThreads:\t%d\n"
            .formatted(comm, rssKib, threads));
  }

  @Test
  void statFieldsAreCountedFromTheLastParenthesisOfTheCommandName() {
    var parsed =
        ProcessTable.parseStat(
                "4242 (a (weird) name) R 1 4242 4242 0 -1 4194304 98 0 0 0 7 3 2 1 20 0 5 0 1356403"
                    + " 3133440 414 18446744073709551615")
            .orElseThrow();

    assertThat(parsed).isEqualTo(new ProcessTable.Proc(4242, 1, 4242, 13, 5));
    assertThat(ProcessTable.parseStat("garbage")).isEmpty();
    assertThat(ProcessTable.parseStat("1 (init) S 0 1")).isEmpty();
  }

  @Test
  void aProcessGroupAddsUpItsMembersWhoeverTheirParentIs() throws IOException {
    process(100, "java", 1, 100, new long[] {500, 100, 0, 0}, 30, 200_000);
    process(200, "sh", 100, 200, new long[] {10, 5, 3, 2}, 1, 1_000);
    process(201, "sleep", 200, 200, new long[] {1, 1, 0, 0}, 1, 500);
    process(202, "orphan", 1, 200, new long[] {4, 0, 0, 0}, 2, 300);
    process(300, "other job", 100, 300, new long[] {99, 0, 0, 0}, 1, 700);

    var table = ProcessTable.read(proc);

    assertThat(table.size()).isEqualTo(5);
    assertThat(table.group(200)).isEqualTo(new ProcessTable.Totals(26, 1_800 * 1024, 4, 3));
    assertThat(table.group(999)).isEqualTo(ProcessTable.Totals.NONE);
  }

  @Test
  void aProcessTreeIsTheRootAndEveryDescendant() throws IOException {
    process(100, "java", 1, 100, new long[] {500, 100, 0, 0}, 30, 200_000);
    process(200, "sh", 100, 200, new long[] {10, 5, 0, 0}, 1, 1_000);
    process(201, "sleep", 200, 200, new long[] {1, 1, 0, 0}, 1, 500);
    process(202, "orphan", 1, 200, new long[] {4, 0, 0, 0}, 2, 300);

    var table = ProcessTable.read(proc);

    assertThat(table.tree(100)).isEqualTo(new ProcessTable.Totals(617, 201_500 * 1024, 32, 3));
    assertThat(table.tree(200)).isEqualTo(new ProcessTable.Totals(17, 1_500 * 1024, 2, 2));
    assertThat(table.tree(12345)).isEqualTo(ProcessTable.Totals.NONE);
  }

  @Test
  void aLineageIsTheProcessItsDescendantsAndItsAncestors() throws IOException {
    process(1, "init", 0, 1, new long[] {0, 0, 0, 0}, 1, 1);
    process(50, "hodei dev", 1, 50, new long[] {0, 0, 0, 0}, 1, 1);
    process(100, "worker", 50, 50, new long[] {0, 0, 0, 0}, 1, 1);
    process(101, "other worker", 50, 50, new long[] {0, 0, 0, 0}, 1, 1);
    process(200, "job", 100, 200, new long[] {0, 0, 0, 0}, 1, 1);
    process(201, "job's child", 200, 200, new long[] {0, 0, 0, 0}, 1, 1);
    process(202, "job's orphan", 1, 200, new long[] {0, 0, 0, 0}, 1, 1);

    var table = ProcessTable.read(proc);

    assertThat(table.lineage(100)).containsOnly(0L, 1L, 50L, 100L, 200L, 201L);
    assertThat(table.groupMembers(200)).containsOnly(200L, 201L, 202L);
  }

  @Test
  void processesThatVanishOrHaveNoRssAreHandled() throws IOException {
    process(100, "java", 1, 100, new long[] {1, 1, 0, 0}, 1, 10);
    Files.createDirectories(proc.resolve("101")); // ended between listing and reading
    Path kernelThread = Files.createDirectories(proc.resolve("2"));
    Files.writeString(
        kernelThread.resolve("stat"),
        "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 9 0 0 20 0 1 0 1 0 0 18446744073709551615\n");
    Files.writeString(kernelThread.resolve("status"), "Name:\tkthreadd\nThreads:\t1\n");

    var table = ProcessTable.read(proc);

    assertThat(table.size()).isEqualTo(2);
    assertThat(table.group(0)).isEqualTo(new ProcessTable.Totals(9, 0, 1, 1));
  }

  @Test
  void thisMachinesTableHoldsThisJvmAndAChildItStarted() throws Exception {
    Process child = new ProcessBuilder("sleep", "30").start();
    try {
      var table = ProcessTable.read(Path.of("/proc"));

      var self = table.tree(ProcessHandle.current().pid());
      assertThat(self.processes()).isGreaterThanOrEqualTo(2);
      assertThat(self.threads()).isGreaterThan(2);
      assertThat(self.rssBytes()).isPositive();
      assertThat(self.cpuTicks()).isPositive();
      var sleep = table.tree(child.pid());
      assertThat(sleep.processes()).isEqualTo(1);
      assertThat(sleep.rssBytes()).isPositive();
    } finally {
      child.destroyForcibly();
      child.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
