package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hodei.api.v1.JobOutcome;
import io.hodei.api.v1.JobResult;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Killing jobs, with real processes: every job runs in a process group of its own, and cancel,
 * timeout and shutdown all go through the same kill path (SIGTERM to the group and the
 * descendants, the grace period, then SIGKILL), which reaches orphans that are no longer
 * descendants of the worker.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class JobKillTest extends AgentTestSupport {

  /**
   * These cases check the kill without a sandbox, as on a machine where the worker cannot give
   * jobs uids of their own (the sandboxed kill: {@link JobIsolationTest}).
   */
  @Override
  Map<String, String> launcherEnvironment() {
    return Map.of(JobSandbox.ENV_ISOLATION, "off");
  }

  @Test
  void aJobLeadsAProcessGroupAndSessionOfItsOwn() {
    startAttachedWorker(config());

    server.runJob(Jobs.shell("e-group", "sh", "-c", "echo $$; cut -d' ' -f5,6 /proc/$$/stat"));

    assertThat(awaitResult("e-group").getExitCode()).isZero();
    List<String> out = server.stdout("e-group");
    String pid = out.getFirst();
    assertThat(out).containsExactly(pid, pid + " " + pid); // pgid and session id = its pid
  }

  @Test
  void cancellingAJobKillsItsBackgroundChildrenToo() {
    startAttachedWorker(config());

    server.runJob(Jobs.shell("e-bg", "sh", "-c", "sleep 301 & sleep 301"));
    List<ProcessHandle> sleeps =
        await().until(() -> sleepingDescendants("301"), found -> found.size() == 2);

    server.cancelJob("e-bg");

    JobResult result = awaitResult("e-bg");
    assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_CANCELLED);
    assertThat(result.getErrorMessage()).isEqualTo("cancelled by the test");
    await().untilAsserted(() -> assertThat(sleeps).noneMatch(AgentTestSupport::running));
  }

  @Test
  void cancellingAJobKillsAnOrphanItLeftThatIsNoLongerADescendant() {
    startAttachedWorker(config());
    Path pidFile = dir.resolve("orphan.pid");

    server.runJob(Jobs.shell("e-orphan", "sh", "-c", orphanThenSleep("302", pidFile)));
    long orphan = awaitPid(pidFile);
    await().until(() -> !server.stdout("e-orphan").isEmpty());
    assertThat(isRunning(orphan)).isTrue();
    assertThat(ProcessHandle.of(orphan).flatMap(ProcessHandle::parent).map(ProcessHandle::pid))
        .as("the orphan was re-parented away from the job, to the worker: its subreaper")
        .contains(ProcessHandle.current().pid());

    server.cancelJob("e-orphan");

    JobResult result = awaitResult("e-orphan");
    assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_CANCELLED);
    await().untilAsserted(() -> assertThat(isRunning(orphan)).isFalse());
    assertThat(sleepingDescendants("302")).isEmpty();
  }

  @Test
  void aJobIgnoringSigtermIsKilledAfterTheGracePeriodAndReportedCancelled() {
    startAttachedWorker(config().withKillGracePeriod(Duration.ofMillis(300)));

    server.runJob(Jobs.shell("e-stubborn", "sh", "-c", "trap '' TERM; echo trapped; sleep 303"));
    await().until(() -> server.stdout("e-stubborn").contains("trapped"));
    List<ProcessHandle> sleeps =
        await().until(() -> sleepingDescendants("303"), found -> found.size() == 1);

    long cancelled = System.nanoTime();
    server.cancelJob("e-stubborn");

    JobResult result = awaitResult("e-stubborn");
    assertThat(Duration.ofNanos(System.nanoTime() - cancelled))
        .isGreaterThanOrEqualTo(Duration.ofMillis(300));
    assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_CANCELLED);
    assertThat(result.getErrorMessage()).isEqualTo("cancelled by the test");
    assertThat(result.getExitCode()).as("128 + SIGKILL").isEqualTo(137);
    await().untilAsserted(() -> assertThat(sleeps).noneMatch(AgentTestSupport::running));
  }

  @Test
  void aJobThatExitsCleanlyOnSigtermIsStillReportedCancelledWithoutWaitingOutTheGrace() {
    startAttachedWorker(config().withKillGracePeriod(Duration.ofSeconds(10)));

    server.runJob(
        Jobs.shell("e-polite", "sh", "-c", "trap 'echo bye; exit 0' TERM; echo ready; sleep 304"));
    await().until(() -> server.stdout("e-polite").contains("ready"));
    await().until(() -> sleepingDescendants("304"), found -> found.size() == 1);

    long cancelled = System.nanoTime();
    server.cancelJob("e-polite");

    JobResult result = awaitResult("e-polite");
    assertThat(Duration.ofNanos(System.nanoTime() - cancelled))
        .as("the job ended on SIGTERM; the grace period was not waited out")
        .isLessThan(Duration.ofSeconds(5));
    assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_CANCELLED);
    assertThat(result.getExitCode()).isZero();
    assertThat(result.getErrorMessage()).isEqualTo("cancelled by the test");
    assertThat(server.stdout("e-polite")).containsExactly("ready", "bye");
  }

  @Test
  void aTimeoutKillsOrphansTooAndIsReportedTimedOut() {
    startAttachedWorker(config());
    Path pidFile = dir.resolve("timeout-orphan.pid");

    server.runJob(
        Jobs.withTimeout(
            Jobs.shell("e-timeout-orphan", "sh", "-c", orphanThenSleep("305", pidFile)),
            Duration.ofMillis(1500)));
    long orphan = awaitPid(pidFile);
    assertThat(isRunning(orphan)).isTrue();

    JobResult result = awaitResult("e-timeout-orphan");
    assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_TIMED_OUT);
    assertThat(result.getErrorMessage()).contains("timed out");
    await().untilAsserted(() -> assertThat(isRunning(orphan)).isFalse());
  }

  @Test
  void shutdownKillsOrphansToo() throws InterruptedException {
    startAttachedWorker(config());
    Path pidFile = dir.resolve("shutdown-orphan.pid");
    server.runJob(Jobs.shell("e-shutdown-orphan", "sh", "-c", orphanThenSleep("306", pidFile)));
    long orphan = awaitPid(pidFile);

    agent.shutdown();

    assertThat(agent.awaitTermination(Duration.ofSeconds(10))).isTrue();
    assertThat(server.results("e-shutdown-orphan").getFirst().getOutcome())
        .isEqualTo(JobOutcome.JOB_OUTCOME_CANCELLED);
    await().untilAsserted(() -> assertThat(isRunning(orphan)).isFalse());
  }

  @Test
  void aCancelRightBehindItsRunJobStillStopsTheJob() {
    startAttachedWorker(config());

    server.runJob(Jobs.shell("e-early", "sleep", "307"));
    server.cancelJob("e-early");

    JobResult result = awaitResult("e-early");
    assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_CANCELLED);
    assertThat(result.getErrorMessage()).isEqualTo("cancelled by the test");
    await().untilAsserted(() -> assertThat(sleepingDescendants("307")).isEmpty());
  }

  @Test
  void aCancelForAnExecutionThatIsNotRunningHereIsIgnored() {
    startAttachedWorker(config());
    server.runJob(Jobs.shell("e-done", "echo", "done"));
    awaitResult("e-done");

    server.cancelJob("e-done");
    server.cancelJob("e-never-seen");
    server.runJob(Jobs.shell("e-after", "echo", "still working"));

    assertThat(awaitResult("e-after").getExitCode()).isZero();
    assertThat(server.results("e-done")).hasSize(1);
    assertThat(server.results("e-never-seen")).isEmpty();
    assertThat(agent.exitStatus()).isEmpty();
  }

  @Test
  void withoutSetsidOnThePathJobsRunInTheWorkersGroupAndAreStillKilled() throws IOException {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    for (String tool : List.of("sh", "sleep", "cut")) {
      Path program = Executables.find(tool, System.getenv("PATH")).orElseThrow();
      Files.copy(program, bin.resolve(tool), StandardCopyOption.COPY_ATTRIBUTES);
    }
    Map<String, String> environment = new HashMap<>(System.getenv());
    environment.put("PATH", bin.toString());
    startWorker(config(), environment);
    awaitAttachedStreams(1);

    server.runJob(Jobs.shell("e-nosetsid", "sh", "-c", "cut -d' ' -f5 /proc/$$/stat; sleep 308"));
    await().until(() -> !server.stdout("e-nosetsid").isEmpty());
    List<ProcessHandle> sleeps =
        await().until(() -> sleepingDescendants("308"), found -> found.size() == 1);
    assertThat(server.stdout("e-nosetsid")).containsExactly(Long.toString(ownProcessGroup()));

    server.cancelJob("e-nosetsid");

    assertThat(awaitResult("e-nosetsid").getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_CANCELLED);
    await().untilAsserted(() -> assertThat(sleeps).noneMatch(AgentTestSupport::running));
  }

  @Test
  void whatAJobLeavesRunningInItsGroupIsKilledWhenItEnds() {
    startAttachedWorker(config());

    server.runJob(Jobs.shell("e-left", "sh", "-c", "sleep 353 & echo started"));

    assertThat(awaitResult("e-left").getExitCode()).isZero();
    await().untilAsserted(() -> assertThat(anywhere("353")).isEmpty());
  }

  @Test
  void anOrphanInAProcessGroupOfItsOwnIsAdoptedByTheWorkerAndKilledWhenTheJobEnds() {
    startAttachedWorker(config());

    // Job control gives the background sleep a group of its own; the shell exits, orphaning it.
    server.runJob(Jobs.shell("e-adopted", "sh", "-c", "set -m; sleep 354 & echo started"));

    assertThat(awaitResult("e-adopted").getExitCode()).isZero();
    await().untilAsserted(() -> assertThat(anywhere("354")).isEmpty());
  }

  // ---- helpers ----


  /**
   * A script that starts {@code sleep <seconds>} from a shell that exits at once, so the sleep is
   * orphaned (re-parented to init, no longer a descendant), writes its pid to {@code pidFile},
   * prints {@code started}, then sleeps itself.
   */
  private static String orphanThenSleep(String seconds, Path pidFile) {
    return "sh -c \"sleep " + seconds + " & echo \\$! > '" + pidFile + "'\";"
        + " echo started; sleep " + seconds;
  }

  private static long awaitPid(Path file) {
    return await().until(() -> readPid(file), OptionalLong::isPresent).getAsLong();
  }

  private static OptionalLong readPid(Path file) {
    try {
      String text = Files.readString(file, StandardCharsets.US_ASCII);
      return text.endsWith("\n")
          ? OptionalLong.of(Long.parseLong(text.strip()))
          : OptionalLong.empty();
    } catch (NoSuchFileException e) {
      return OptionalLong.empty();
    } catch (IOException | NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  private static boolean isRunning(long pid) {
    return ProcessHandle.of(pid).map(AgentTestSupport::running).orElse(false);
  }

  private static long ownProcessGroup() throws IOException {
    String stat = Files.readString(Path.of("/proc/self/stat"), StandardCharsets.ISO_8859_1);
    return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[2]);
  }
}
