package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import io.hodei.api.v1.JobOutcome;
import io.hodei.api.v1.ResourceSpec;
import io.hodei.api.v1.RunJobCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The sandbox a job runs in, with real processes, cgroups and bwrap on this machine: a uid of its
 * own, a clean environment, a private file system view and pid namespace, limits, and no process
 * left once the job is over. These run where the worker can change uid (root here and in CI); the
 * degraded paths are {@link JobKillTest}'s.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class JobIsolationTest extends AgentTestSupport {

  @BeforeEach
  void requireRoot() {
    assumeThat(System.getProperty("user.name")).as("the sandbox needs root").isEqualTo("root");
  }

  /** The worker's settings that choose the sandbox under test. */
  Map<String, String> sandboxSettings() {
    return Map.of(JobSandbox.ENV_SANDBOX, "bwrap");
  }

  /** The name of the program that is pid 1 of a job's pid namespace. */
  String sandboxInit() {
    return "bwrap";
  }

  private void startWorker(Map<String, String> extra) {
    Map<String, String> env = new HashMap<>(System.getenv());
    env.putAll(sandboxSettings());
    env.putAll(extra);
    startWorker(config(), env);
    awaitAttachedStreams(1);
  }

  @Test
  void theWorkerReportsFullIsolationWhenItCanGiveEachJobAUidCgroupAndSandbox() {
    startWorker(Map.of());

    assertThat(server.registrations.getFirst().getWorkerInfo().getIsolationDegradedList()).isEmpty();
  }

  @Test
  void aWorkerThatCannotIsolateItsJobsSaysWhyWhenItRegisters() {
    startWorker(Map.of(JobSandbox.ENV_ISOLATION, "off"));

    assertThat(server.registrations.getFirst().getWorkerInfo().getIsolationDegradedList())
        .anySatisfy(gap -> assertThat(gap).contains("run as the worker's own user"))
        .anySatisfy(gap -> assertThat(gap).contains("subreaper"));
  }

  @Test
  void eachJobRunsUnderAUidOfItsOwnThatIsNeitherRootNorTheWorkers() {
    startWorker(Map.of(JobSandbox.ENV_UIDS, "190100-190199"));

    server.runJob(Jobs.shell("e-id1", "sh", "-c", "id -u; id -g; id -G; grep CapEff /proc/self/status; sleep 2"));
    server.runJob(Jobs.shell("e-id2", "sh", "-c", "id -u; sleep 2"));

    assertThat(awaitResult("e-id1").getExitCode()).isZero();
    assertThat(awaitResult("e-id2").getExitCode()).isZero();
    int first = Integer.parseInt(server.stdout("e-id1").getFirst());
    int second = Integer.parseInt(server.stdout("e-id2").getFirst());
    assertThat(first).isBetween(190100, 190199).isNotEqualTo(second);
    assertThat(second).isBetween(190100, 190199);
    assertThat(server.stdout("e-id1").subList(1, 4))
        .containsExactly(Integer.toString(first), Integer.toString(first), "CapEff:\t0000000000000000");
  }

  @Test
  void aJobSeesOnlyItsSpecsVariablesAndTheDocumentedOnes() {
    startWorker(Map.of("HODEI_SECRET_KEY", "canary-secret-key", "HODEI_API_TOKEN", "canary-token"));

    server.runJob(Jobs.script("e-env", "sh", "env | sort", Map.of("MINE", "yes")));

    assertThat(awaitResult("e-env").getExitCode()).isZero();
    List<String> names = server.stdout("e-env").stream().map(l -> l.substring(0, l.indexOf('='))).toList();
    assertThat(names)
        .contains("HOME", "PATH", "TMPDIR", "HODEI_JOB_ID", "HODEI_EXECUTION_ID", "HODEI_ATTEMPT", "HODEI_WORKSPACE", "MINE")
        .doesNotContain("HODEI_SECRET_KEY", "HODEI_API_TOKEN", WorkerConfig.ENV_TOKEN, WorkerConfig.ENV_SERVER_ADDRESS);
    assertThat(server.stdout("e-env")).contains("HOME=/job/work", "HODEI_JOB_ID=job-e-env", "MINE=yes");
  }

  @Test
  void aJobSeesNeitherTheWorkersFilesNorItsProcesses() throws IOException {
    Path workerFile = Files.writeString(dir.resolve("worker-only.txt"), "platform");
    startWorker(Map.of());

    server.runJob(Jobs.shell("e-view", "sh", "-c",
        "test -e '" + workerFile + "' && echo file-visible;"
            + " test -e '" + config().tempRoot() + "' && echo temp-visible;"
            + " ls /proc | grep -c '^[0-9]'; basename \"$(tr '\\0' '\\n' < /proc/1/cmdline | head -n 1)\"; pwd; ls -ld /job | cut -c1-10"));

    assertThat(awaitResult("e-view").getExitCode()).isZero();
    List<String> out = server.stdout("e-view");
    assertThat(out).doesNotContain("file-visible", "temp-visible");
    // Its own pid namespace: the sandbox's pid 1, the shell, ls and grep, cut/tr; nothing of the host.
    assertThat(Integer.parseInt(out.getFirst())).isLessThan(8);
    assertThat(out.subList(1, 4)).containsExactly(sandboxInit(), "/job/work", "drwx------");
  }

  @Test
  void aJobReadsItsSecretsOnStdinInsideTheSandbox() {
    startWorker(Map.of());
    RunJobCommand withSecret =
        Jobs.shell("e-stdin", "sh", "-c", "sha256sum | cut -c1-16").toBuilder().putSecrets("TOKEN", "s3cr3t-value").build();

    server.runJob(withSecret);

    assertThat(awaitResult("e-stdin").getExitCode()).isZero();
    // The digest of what the worker writes: every byte of it reached the job.
    assertThat(server.stdout("e-stdin")).containsExactly(sha256Prefix(SecretsJson.encode(Map.of("TOKEN", "s3cr3t-value"))));
  }

  private static String sha256Prefix(byte[] bytes) {
    try {
      byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(bytes);
      return java.util.HexFormat.of().formatHex(d).substring(0, 16);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void eachJobHasAPrivateTmpThatTheNextJobDoesNotSee() {
    startWorker(Map.of());

    server.runJob(Jobs.shell("e-tmp1", "sh", "-c", "echo left-behind > /tmp/note; echo shm > /dev/shm/note; ls /tmp"));
    assertThat(awaitResult("e-tmp1").getExitCode()).isZero();
    server.runJob(Jobs.shell("e-tmp2", "sh", "-c", "ls -A /tmp | wc -l"));

    assertThat(awaitResult("e-tmp2").getExitCode()).isZero();
    assertThat(server.stdout("e-tmp1")).containsExactly("note");
    assertThat(server.stdout("e-tmp2")).containsExactly("0");
    assertThat(Path.of("/tmp/note")).doesNotExist();
  }

  @Test
  void backgroundProcessesAJobLeavesAreKilledWhenItEnds() {
    startWorker(Map.of());

    server.runJob(Jobs.shell("e-leave", "sh", "-c",
        "nohup sleep 341 >/dev/null 2>&1 & setsid sleep 342 >/dev/null 2>&1 & (sleep 343 &) ; echo done"));

    assertThat(awaitResult("e-leave").getExitCode()).isZero();
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(anywhere("341", "342", "343")).isEmpty());
  }

  @Test
  void cancellingAJobKillsEveryProcessItStartedWhereverItWent() {
    startWorker(Map.of());

    server.runJob(Jobs.shell("e-cancel-all", "sh", "-c",
        "setsid sleep 344 & nohup sleep 345 >/dev/null 2>&1 & echo up; wait"));
    await().until(() -> anywhere("344", "345").size() == 2);

    server.cancelJob("e-cancel-all");

    assertThat(awaitResult("e-cancel-all").getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_CANCELLED);
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(anywhere("344", "345")).isEmpty());
  }

  @Test
  void aJobCannotForkMoreProcessesThanItsPidsLimit() {
    startWorker(Map.of(JobSandbox.ENV_PIDS_MAX, "40"));

    server.runJob(Jobs.shell("e-fork", "sh", "-c",
        "n=0; for i in $(seq 100); do sleep 346 2>/dev/null & n=$((n+1)); done; sleep 1; echo tried $n"));

    awaitResult("e-fork");
    assertThat(anywhere("346")).isEmpty();
    assertThat(server.text("e-fork", io.hodei.api.v1.LogStream.LOG_STREAM_STDERR))
        .anySatisfy(line -> assertThat(line).containsIgnoringCase("fork"));
  }

  @Test
  void aJobThatUsesMoreMemoryThanItAskedForIsKilled() {
    startWorker(Map.of());
    RunJobCommand hog =
        Jobs.shell("e-memory", "sh", "-c", "head -c 300000000 /dev/zero | tail -c 300000000 > /dev/null && echo survived").toBuilder()
            .setResources(ResourceSpec.newBuilder().setMemoryBytes(64L << 20))
            .build();

    server.runJob(hog);

    var result = awaitResult("e-memory");
    assertThat(server.stdout("e-memory")).doesNotContain("survived");
    assertThat(result.getExitCode()).isNotZero();
  }

  @Test
  void aJobsDirectoryIsDeletedAndItsUidFreedOnceItEnds() {
    startWorker(Map.of(JobSandbox.ENV_UIDS, "190200-190200"));

    server.runJob(Jobs.shell("e-one", "sh", "-c", "echo data > file; id -u"));
    assertThat(awaitResult("e-one").getExitCode()).isZero();
    // A single uid in the range: the second job can only start once the first one's is free.
    server.runJob(Jobs.shell("e-two", "sh", "-c", "ls -A | wc -l; id -u"));

    assertThat(awaitResult("e-two").getExitCode()).isZero();
    assertThat(server.stdout("e-two")).containsExactly("0", "190200");
    Path jobs = Path.of(config().tempRoot() + "-jobs");
    await().untilAsserted(() -> assertThat(jobs).isEmptyDirectory());
  }

}
