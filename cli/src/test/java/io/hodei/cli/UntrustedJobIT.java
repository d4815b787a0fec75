package io.hodei.cli;

import static io.hodei.cli.HodeiRunIT.hodei;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.hodei.api.v1.AdminServiceGrpc;
import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.CreateTokenRequest;
import io.hodei.api.v1.DeregisterWorkerRequest;
import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.Job;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.ListWorkersRequest;
import io.hodei.api.v1.LogStreamServiceGrpc;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.api.v1.RegisterRequest;
import io.hodei.api.v1.RetryPolicy;
import io.hodei.api.v1.Role;
import io.hodei.api.v1.SchedulerServiceGrpc;
import io.hodei.api.v1.ScriptCommand;
import io.hodei.api.v1.StreamLogsRequest;
import io.hodei.api.v1.WorkerAgentServiceGrpc;
import io.hodei.api.v1.WorkerInfo;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Issue 13, "jobs are untrusted code", end to end: a real {@code hodei dev} as its own process,
 * started in a working directory that also holds a PKI ({@code tls/}) and the data directory; an
 * attacker holding only an ordinary user's token (or none: anonymous loopback callers are users)
 * queues jobs over gRPC, and each attack that once worked is run <em>as a job</em>. Each test
 * asserts that the attack fails and, where there is a victim, that the victim job's outcome and
 * secret are intact (it prints the sha256 of the secret it read on stdin).
 *
 * <p>What the job could not do itself (a gRPC call: the job has no Hodei CLI) the test does with
 * exactly what the job could obtain. Where a test needs what the job could not obtain (a real OTP,
 * for the server-side OTP rules), the test takes it the way the old attack did, with the powers of
 * the test's own root user: it freezes a new worker and reads its bootstrap off its stdin.
 *
 * <p>Subclasses choose the provider ({@link #providerArguments}). One control plane per class.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class UntrustedJobIT {
  static final String SHA_EMPTY = sha256("");

  Path home;
  Path tls;
  Path data;
  Dev dev;
  String adminToken;
  String mallory;
  String alice;
  final String secretKeyCanary = secretKey();
  final String apiTokenCanary = "canary-api-" + UUID.randomUUID();

  /** Extra {@code hodei dev} arguments: the provider. */
  abstract List<String> providerArguments();

  /** Whether jobs run in containers (host paths and pids mean nothing to them, tools differ). */
  abstract boolean inContainers();

  /** Called once before the server starts: the place to skip or build images. */
  void prepare() throws Exception {}

  @org.junit.jupiter.api.BeforeAll
  void startDev() throws Exception {
    prepare();
    home = Files.createTempDirectory("hodei-untrusted-");
    tls = home.resolve("tls");
    data = home.resolve(".hodei").resolve("data");
    var init = hodei("pki", "init", "--dir", tls.toString());
    assertThat(init.exitCode()).as(init.stderr()).isZero();
    List<String> args = new ArrayList<>(List.of("--max-workers", "3", "--kill-grace", "2s", "--idle-timeout", "2m"));
    args.addAll(providerArguments());
    // No HODEI_SECRET_KEY here, so that the key is the file data/secret.key; the server under TLS has it in its environment.
    dev = new Dev(home, data, args, Map.of("HODEI_API_TOKEN", apiTokenCanary)).start();
    adminToken = Files.readString(data.resolve("admin.token")).strip();
    mallory = createToken("mallory-" + UUID.randomUUID().toString().substring(0, 6), Role.ROLE_USER);
    alice = createToken("alice-" + UUID.randomUUID().toString().substring(0, 6), Role.ROLE_USER);
  }

  @AfterAll
  void stopDev() throws Exception {
    if (dev != null) {
      dev.close();
    }
    if (tlsDev != null) {
      tlsDev.close();
    }
    if (home != null) {
      try (var walk = Files.walk(home)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // 1. The control plane's files

  @Test
  void aJobCannotReadTheControlPlanesCaKey() throws Exception {
    assertUnreadable(tls.resolve("ca.key"), dev);
  }

  @Test
  void aJobCannotReadTheControlPlanesSecretKey() throws Exception {
    assertUnreadable(data.resolve("secret.key"), dev);
  }

  @Test
  void aJobCannotReadTheControlPlanesDatabase() throws Exception {
    assertUnreadable(data.resolve("hodei.db"), dev);
  }

  @Test
  void aJobCannotReadTheAdminTokenOfHodeiDev() throws Exception {
    assertUnreadable(data.resolve("admin.token"), dev);
  }

  @Test
  void aJobFindsNoneOfTheControlPlanesFilesAnywhereItCanLook() throws Exception {
    var ran =
        runAs(mallory,
            "for d in / /root /home /tmp /var/tmp \"$OLDPWD\" " + q(home.toString()) + " " + q(data.toString()) + "; do"
                + "  ls -a \"$d\" 2>/dev/null | sed \"s|^|LS $d |\";"
                + " done;"
                + " for f in $(find / -xdev \\( -name ca.key -o -name secret.key -o -name hodei.db -o -name admin.token \\) 2>/dev/null); do"
                + "  cat \"$f\" >/dev/null 2>&1 && echo \"READ $f\";"
                + " done; echo DONE");
    assertThat(ran.state()).as(ran.toString()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(ran.lines()).contains("DONE").noneMatch(l -> l.startsWith("READ "));
    assertThat(ran.output()).doesNotContain("ca.key", "secret.key", "hodei.db", "admin.token", "server.key");
  }

  /**
   * Under {@code hodei dev --tls-dir}: the CA key beside the server's working directory, with
   * which a job once signed itself an admin certificate. The job reads nothing, and a certificate
   * it makes for itself (it holds no CA key, so self-signed) is refused.
   */
  @Test
  void underMutualTlsAJobCannotReadTheCaKeyNorSignItselfAnAdminCertificate() throws Exception {
    Dev server = tlsDev();
    var run =
        runOverTls(
            "for f in " + q(tls2.resolve("ca.key").toString()) + " " + q(tls2.resolve("server.key").toString()) + " "
                + q(tls2.resolve("admin.key").toString()) + " tls/ca.key ../tls/ca.key \"$OLDPWD/tls/ca.key\"; do"
                + " cat \"$f\" 2>/dev/null | grep -q 'PRIVATE KEY' && echo \"READ $f\"; test -e \"$f\" && echo \"SEEN $f\"; done; echo DONE");
    assertThat(run.exitCode()).as(run.stderr()).isZero();
    assertThat(run.stdout()).contains("DONE").doesNotContain("READ ", "SEEN ", "PRIVATE KEY");

    // What a job could make without the CA key: its own CA and an "admin" certificate from it.
    Path forged = tls2.resolveSibling("forged");
    assertThat(hodei("pki", "init", "--dir", forged.toString()).exitCode()).isZero();
    var asForgedAdmin =
        hodei(
            "tokens", "create", "--server", server.address(), "--ca", tls2.resolve("ca.crt").toString(),
            "--cert", forged.resolve("admin.crt").toString(), "--key", forged.resolve("admin.key").toString(),
            "--role", "admin", "--name", "forged");
    assertThat(asForgedAdmin.exitCode()).as(asForgedAdmin.stdout()).isNotZero();
    assertThat(asForgedAdmin.stdout()).doesNotContain("hodei_");
  }

  /** 5, under TLS: HODEI_SECRET_KEY in the environment of {@code hodei dev --tls-dir}. */
  @Test
  void underMutualTlsAJobSeesNotTheSecretKeyInTheControlPlanesEnvironment() throws Exception {
    tlsDev();
    var run = runOverTls("env; for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ 2>/dev/null; done; echo DONE");
    assertThat(run.exitCode()).as(run.stderr()).isZero();
    assertThat(run.stdout()).contains("DONE").doesNotContain("HODEI_SECRET_KEY", secretKeyCanary, "HODEI_API_TOKEN", apiTokenCanary);
  }

  Dev tlsDev;
  Path tls2;

  /** {@code hodei dev --tls-dir} on a PKI of its own, with HODEI_SECRET_KEY in its environment; started once. */
  synchronized Dev tlsDev() throws Exception {
    if (tlsDev == null) {
      Path home2 = home.resolve("tls-home");
      Files.createDirectories(home2);
      tls2 = home2.resolve("tls");
      assertThat(hodei("pki", "init", "--dir", tls2.toString()).exitCode()).isZero();
      var issued = hodei("pki", "issue", "--dir", tls2.toString(), "--kind", "user", "--name", "mallory");
      assertThat(issued.exitCode()).as(issued.stderr()).isZero();
      List<String> args = new ArrayList<>(List.of("--max-workers", "1", "--tls-dir", tls2.toString()));
      args.addAll(providerArguments());
      tlsDev = new Dev(home2, home2.resolve("data"), args,
          Map.of("HODEI_SECRET_KEY", secretKeyCanary, "HODEI_API_TOKEN", apiTokenCanary)).start();
    }
    return tlsDev;
  }

  /** {@code sh -c script} as a job queued by mallory, with her user certificate. */
  private HodeiRunIT.Result runOverTls(String script) {
    return hodei(
        "run", "-q", "--server", tlsDev.address(), "--tls-dir", tls2.toString(),
        "--cert", tls2.resolve("mallory.crt").toString(), "--key", tls2.resolve("mallory.key").toString(), "--",
        "sh", "-c", script);
  }

  // ---------------------------------------------------------------------------------------------
  // 2. The worker's credentials

  @Test
  void aJobCannotReadItsWorkersEnvironment() throws Exception {
    var ran =
        runAs(mallory,
            "tr '\\0' '\\n' < /proc/$PPID/environ 2>/dev/null; echo ---;"
                + " for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ 2>/dev/null; done; echo ---;"
                + " for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done; echo DONE");
    assertThat(ran.state()).as(ran.toString()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(ran.output())
        .contains("DONE")
        .doesNotContain("HODEI_TOKEN", "HODEI_TLS_", "BEGIN", "PRIVATE KEY", "hodei-bootstrap", secretKeyCanary, apiTokenCanary);
    assertThat(ran.lines()).as("the job sees no worker process").noneMatch(l -> l.contains("io.hodei.worker.WorkerMain"));
  }

  @Test
  void aJobCannotReadItsWorkersMemoryNorItsOpenFiles() throws Exception {
    List<Long> workers = workerPids();
    var ran =
        runAs(mallory,
            "for p in $PPID " + join(workers) + "; do"
                + "  a=$(head -n1 /proc/$p/maps 2>/dev/null | cut -d- -f1);"
                + "  [ -n \"$a\" ] && echo \"MAPS $p\";"
                + "  [ -n \"$a\" ] && dd if=/proc/$p/mem bs=1 count=16 skip=$((0x$a)) 2>/dev/null | head -c1 | grep -q . && echo \"MEM $p\";"
                + "  ls /proc/$p/fd >/dev/null 2>&1 && ls /proc/$p/fd | grep -q . && [ $p != $PPID ] && echo \"FD $p\";"
                + " done; echo DONE");
    assertThat(ran.state()).as(ran.toString()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(ran.lines()).contains("DONE");
    for (long pid : workers) {
      assertThat(ran.lines()).doesNotContain("MAPS " + pid, "MEM " + pid, "FD " + pid);
    }
    assertThat(ran.lines()).noneMatch(l -> l.startsWith("MEM "));
  }

  /**
   * The job tries SIGSTOP on every worker the host runs (the old attack froze a new worker before
   * it registered, then registered in its place with the OTP from its environment): the workers
   * keep running, and a victim job queued right after runs and gets its secret.
   */
  @Test
  void aJobCannotFreezeAWorker() throws Exception {
    List<Long> workers = workerPids().stream().filter(p -> !processState(p).equals("T")).toList();
    var ran =
        runAs(mallory,
            "for p in " + join(workers) + "; do kill -STOP $p 2>/dev/null && echo \"STOPPED $p\"; done;"
                + " kill -STOP -1 2>/dev/null; echo DONE");
    assertThat(ran.lines()).noneMatch(l -> l.startsWith("STOPPED "));
    for (long pid : workers) {
      assertThat(processState(pid)).as("worker %d", pid).isNotEqualTo("T");
    }
    assertVictimGetsItsSecret();
  }

  // ---------------------------------------------------------------------------------------------
  // 3. Other jobs

  @Test
  void aJobCannotReadARunningJobsSecretsOnItsStdin() throws Exception {
    String secret = "stdin-secret-" + UUID.randomUUID();
    // The victim reads its stdin only after the sleep: an attacker reading it first would empty it.
    String victim = queueAs(alice, "sleep 7.1; " + READ_SECRET + " printf '%s' \"$s\" | sha256sum", Map.of("S", secret), Map.of());
    long sleeper = awaitProcess("sleep 7.1");
    List<Long> chain = ancestors(sleeper, 4);
    var ran =
        runAs(mallory,
            "for p in " + join(chain) + "; do cat /proc/$p/fd/0 2>/dev/null | sed \"s|^|STDIN $p |\"; done;"
                + " for p in /proc/[0-9]*; do cat $p/fd/0 2>/dev/null </dev/null | head -c 200 | sed 's|^|STDIN-SCAN |'; done </dev/null;"
                + " echo DONE");
    assertThat(ran.output()).contains("DONE").doesNotContain("STDIN ", secret, "\"S\"");
    assertVictimSucceededWith(victim, sha256(secret));
  }

  @Test
  void aJobCannotReadARunningJobsEnvironment() throws Exception {
    String canary = "env-canary-" + UUID.randomUUID();
    String victim = queueAs(alice, "sleep 7.2; echo victim-done", Map.of(), Map.of("VICTIM_CANARY", canary));
    long sleeper = awaitProcess("sleep 7.2");
    List<Long> chain = ancestors(sleeper, 4);
    var ran =
        runAs(mallory,
            "for p in " + join(chain) + " /proc/[0-9]*; do p=${p#/proc/}; tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null; done; echo DONE");
    assertThat(ran.output()).contains("DONE").doesNotContain(canary, "VICTIM_CANARY");
    var done = awaitFinal(victim, alice);
    assertThat(done.state()).as(done.toString()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(done.lines()).contains("victim-done");
  }

  @Test
  void aJobCannotReadARunningJobsScript() throws Exception {
    String canary = "script-canary-" + UUID.randomUUID();
    String victim = queueAs(alice, "# " + canary + "\nsleep 7.3; echo victim-done", Map.of(), Map.of());
    long sleeper = awaitProcess("sleep 7.3");
    List<Long> chain = ancestors(sleeper, 4);
    List<String> paths = new ArrayList<>();
    for (long pid : chain) {
      paths.add("/proc/" + pid + "/root/job/script");
      paths.add("/proc/" + pid + "/cwd/../script");
    }
    // Where the script lies on the host, as root sees it: the victim's job directory.
    hostScriptOf(canary).ifPresent(p -> {
      paths.add(p.toString());
      paths.add(p.getParent().toString());
    });
    var ran =
        runAs(mallory,
            "for f in " + paths.stream().map(UntrustedJobIT::q).collect(Collectors.joining(" ")) + "; do"
                + " cat \"$f\" 2>/dev/null | sed \"s|^|READ $f |\"; ls \"$f\" 2>/dev/null | sed \"s|^|LS $f |\"; done;"
                + " cat /tmp/*/script /tmp/*-jobs/*/script 2>/dev/null; echo DONE");
    assertThat(ran.output()).contains("DONE").doesNotContain(canary);
    var done = awaitFinal(victim, alice);
    assertThat(done.state()).as(done.toString()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
  }

  // ---------------------------------------------------------------------------------------------
  // Build 4. Jobs see less of the host

  @Test
  void aJobSeesNoProcessButItsOwnNotEvenARunningJobsOfTheSameWorker() throws Exception {
    String victim = queueAs(alice, "sleep 7.4; echo victim-done", Map.of(), Map.of());
    awaitProcess("sleep 7.4");
    var ran =
        runAs(mallory,
            "n=0; for p in /proc/[0-9]*; do n=$((n+1)); read -r c < $p/cmdline 2>/dev/null; echo \"SEEN $p $c\"; done;"
                + " echo \"COUNT $n\"; echo DONE");
    assertThat(ran.lines()).as(ran.toString()).contains("DONE").noneMatch(l -> l.contains("sleep") || l.contains("java"));
    int count = ran.lines().stream().filter(l -> l.startsWith("COUNT ")).map(l -> Integer.parseInt(l.substring(6))).findFirst().orElseThrow();
    // The sandbox's pid 1 and the job's shell: nothing of the worker, the host or another job.
    assertThat(count).as(ran.toString()).isBetween(1, 3);
    var done = awaitFinal(victim, alice);
    assertThat(done.state()).as(done.toString()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
  }

  @Test
  void aJobSeesNoFileARunningJobLeftInTmpVarTmpOrDevShm() throws Exception {
    String canary = "tmp-canary-" + UUID.randomUUID();
    String victim =
        queueAs(alice,
            "for d in /tmp /var/tmp /dev/shm; do echo " + canary + " > $d/" + canary + "; chmod 644 $d/" + canary + "; done;"
                + " echo written; sleep 7.5; cat /tmp/" + canary,
            Map.of(), Map.of());
    awaitProcess("sleep 7.5");
    var ran = runAs(mallory, "ls -A /tmp /var/tmp /dev/shm; cat /tmp/* /var/tmp/* /dev/shm/* 2>/dev/null; echo DONE");
    assertThat(ran.output()).as(ran.toString()).contains("DONE").doesNotContain(canary);
    var done = awaitFinal(victim, alice);
    assertThat(done.state()).as(done.toString()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(done.output()).contains(canary);
  }

  @Test
  void aJobThatUsesMoreMemoryThanItAskedForIsKilled() throws Exception {
    String id =
        jobs(mallory).withDeadlineAfter(30, TimeUnit.SECONDS)
            .queueJob(QueueJobRequest.newBuilder()
                .setDefinition(definition("head -c 300000000 /dev/zero | tail -c 300000000 >/dev/null && echo survived", Map.of(), Map.of())
                    .toBuilder().setResources(io.hodei.api.v1.ResourceSpec.newBuilder().setMemoryBytes(64L << 20)))
                .build())
            .getJobId();
    var ran = awaitFinal(id, mallory);
    assertThat(ran.state()).as(ran.toString()).isEqualTo(JobState.JOB_STATE_FAILED);
    assertThat(ran.output()).doesNotContain("survived");
  }

  // ---------------------------------------------------------------------------------------------
  // 4. Leftover processes

  @Test
  void aProcessAJobLeavesWithNohupOrSetsidEndsWithTheJob() throws Exception {
    var ran =
        runAs(mallory,
            "nohup sleep 91.1 >/dev/null 2>&1 & setsid sleep 91.2 >/dev/null 2>&1 &"
                + " (setsid sh -c 'sleep 91.3' >/dev/null 2>&1 &); sleep 0.5; echo DONE");
    assertThat(ran.state()).as(ran.toString()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    await("what the job left is gone")
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(() -> assertThat(processes("sleep 91.")).isEmpty());
  }

  @Test
  void aProcessAJobLeavesDoesNotSurviveDeregisteringItsWorker() throws Exception {
    String job = queueAs(mallory, "setsid sleep 92.1 >/dev/null 2>&1 & sleep 92.2", Map.of(), Map.of());
    awaitProcess("sleep 92.2");
    awaitProcess("sleep 92.1");
    String worker = awaitRunning(job, mallory).getWorkerId();
    var deregistered = hodei("workers", "deregister", "--server", dev.address(), "--token", adminToken, worker);
    assertThat(deregistered.exitCode()).as(deregistered.stderr()).isZero();
    await("the job's processes are gone with its worker")
        .atMost(Duration.ofSeconds(40))
        .untilAsserted(() -> assertThat(processes("sleep 92.")).isEmpty());
  }

  /** A thief left behind keeps trying to read every stdin it can see; the next job keeps its secret. */
  @Test
  void aProcessAJobLeavesCannotStealTheNextJobsSecrets() throws Exception {
    var ran =
        runAs(mallory,
            "setsid sh -c 'while :; do for p in /proc/[0-9]*; do cat $p/fd/0 >/dev/null 2>&1; done; sleep 0.093; done'"
                + " >/dev/null 2>&1 </dev/null & echo DONE");
    assertThat(ran.state()).as(ran.toString()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    await("the thief is gone").atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(processes("sleep 0.093")).isEmpty());
    assertVictimGetsItsSecret();
    assertThat(processes("sleep 0.093")).isEmpty();
  }

  @Test
  void killingAWorkerWithSigkillEndsItsJobsBeforeTheirRetriesRun() throws Exception {
    var definition =
        definition("sleep 93.3", Map.of(), Map.of()).toBuilder()
            .setRetryPolicy(RetryPolicy.newBuilder().setMaxAttempts(2))
            .build();
    String job = jobs(mallory).queueJob(QueueJobRequest.newBuilder().setDefinition(definition).build()).getJobId();
    long first = awaitProcess("sleep 93.3");
    killWorkerOf(first);
    var alive = new CopyOnWriteArrayList<Integer>();
    try {
      await("the retry runs")
          .atMost(Duration.ofSeconds(60))
          .untilAsserted(() -> {
            List<Long> now = processes("sleep 93.3");
            alive.add(now.size());
            assertThat(now).isNotEmpty().doesNotContain(first);
          });
      assertThat(ProcessHandle.of(first).filter(ProcessHandle::isAlive)).as("the first attempt's process").isEmpty();
      assertThat(alive).as("never two attempts' processes at once").allMatch(n -> n <= 1);
    } finally {
      hodei("cancel", "--server", dev.address(), "--token", mallory, job);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // 5. The control plane's environment

  @Test
  void aJobUnderHodeiDevSeesNeitherTheSecretKeyNorTheApiTokenOfTheControlPlane() throws Exception {
    var ran = runAs(mallory, "env; for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ 2>/dev/null; done; echo DONE");
    assertThat(ran.state()).as(ran.toString()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(ran.output()).contains("DONE").doesNotContain("HODEI_SECRET_KEY", "HODEI_API_TOKEN", secretKeyCanary, apiTokenCanary);
  }

  // ---------------------------------------------------------------------------------------------
  // 6. Modes and limits

  @Test
  void theDataDirectoryIsOwnerOnlyAndAJobCannotListIt() throws Exception {
    assertThat(mode(data)).isEqualTo("rwx------");
    for (String file : List.of("hodei.db", "secret.key", "admin.token")) {
      assertThat(mode(data.resolve(file))).as(file).isEqualTo("rw-------");
    }
    var ran = runAs(mallory, "ls -la " + q(data.toString()) + " 2>/dev/null | sed 's/^/LS /'; stat " + q(data.toString()) + " 2>/dev/null | sed 's/^/STAT /'; echo DONE");
    assertThat(ran.lines()).contains("DONE").noneMatch(l -> l.startsWith("LS ") || l.startsWith("STAT "));
  }

  /**
   * 3,000 background sleeps: forks beyond the pids limit fail (the subshell dies of it), and the
   * job counts what it has with shell builtins only (a fork would fail too), then ends them.
   */
  @Test
  void aJobForkingThreeThousandProcessesIsHeldToThePidsLimit() throws Exception {
    var ran =
        runAs(mallory,
            "(i=0; while [ $i -lt 3000 ]; do sleep 94.4 & i=$((i+1)); done) 2>/dev/null;"
                + " n=0; for p in /proc/[0-9]*; do [ -O $p ] && n=$((n+1)); done; echo \"PROC $n\"; kill -9 -1 2>/dev/null; echo DONE");
    assertThat(ran.lines()).as(ran.toString()).contains("DONE");
    int seen = ran.lines().stream().filter(l -> l.startsWith("PROC ")).map(l -> Integer.parseInt(l.substring(5).strip())).findFirst().orElseThrow();
    assertThat(seen).as("processes the job had at once").isBetween(2, 1024);
    await("the job's processes end with it").atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(processes("sleep 94.4")).isEmpty());
  }

  // ---------------------------------------------------------------------------------------------
  // 7. Dev mode's admin

  @Test
  void aJobCannotCreateAnAdminTokenFromLoopback() throws Exception {
    // What a job on a local worker would send: from 127.0.0.1, with no credential or the user's.
    for (Optional<String> token : List.of(Optional.<String>empty(), Optional.of(mallory))) {
      try (var channel = new Closing(dev.channel(token))) {
        var admin = AdminServiceGrpc.newBlockingStub(channel.channel).withDeadlineAfter(10, TimeUnit.SECONDS);
        var refused =
            org.junit.jupiter.api.Assertions.assertThrows(
                StatusRuntimeException.class,
                () -> admin.createToken(CreateTokenRequest.newBuilder().setName("pwned-" + UUID.randomUUID()).setRole(Role.ROLE_ADMIN).build()));
        assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      }
    }
    var cli = hodei("tokens", "create", "--server", dev.address(), "--role", "admin", "--name", "pwned");
    assertThat(cli.exitCode()).isEqualTo(HodeiCli.EX_NOPERM);
  }

  // ---------------------------------------------------------------------------------------------
  // 8. One-time tokens

  @Test
  void badOtpsFromAJobDoNotStopNewWorkersRegistering() throws Exception {
    for (int i = 0; i < 12; i++) {
      assertThat(register("w-" + UUID.randomUUID(), "hodei_otp_bad_" + i, Optional.empty()))
          .isIn(Status.Code.UNAUTHENTICATED, Status.Code.RESOURCE_EXHAUSTED);
    }
    assertANewWorkerRegistersAndRunsAJob();
  }

  @Test
  void badOtpsFromRotatingLoopbackAddressesDoNotStopNewWorkersRegistering() throws Exception {
    for (int i = 0; i < 60; i++) {
      assertThat(register("w-" + UUID.randomUUID(), "hodei_otp_bad_" + i, Optional.of("127.0.0." + (2 + i % 30))))
          .isIn(Status.Code.UNAUTHENTICATED, Status.Code.RESOURCE_EXHAUSTED);
    }
    assertANewWorkerRegistersAndRunsAJob();
  }

  // ---------------------------------------------------------------------------------------------
  // 9. Redaction: a job printing its secret in another form

  static final String LONG_SECRET = "redact-me-" + "0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789";

  @Test
  void aSecretPrintedAsBase64WrappedAt76ColumnsIsRedacted() throws Exception {
    assertRedacted(
        "printf '%s' \"$s\" | base64",
        wrapped(Base64.getEncoder().encodeToString(LONG_SECRET.getBytes(StandardCharsets.UTF_8))));
  }

  @Test
  void aSecretPrintedAsHexIsRedacted() throws Exception {
    assertRedacted("printf '%s' \"$s\" | od -An -v -tx1 | tr -d ' \\n'; echo", List.of(HexFormat.of().formatHex(bytes(LONG_SECRET))));
  }

  @Test
  void aSecretPrintedAsUpperCaseHexIsRedacted() throws Exception {
    assertRedacted(
        "printf '%s' \"$s\" | od -An -v -tx1 | tr -d ' \\n' | tr a-f A-F; echo",
        List.of(HexFormat.of().withUpperCase().formatHex(bytes(LONG_SECRET))));
  }

  @Test
  void aSecretPrintedAsBase32IsRedacted() throws Exception {
    assertRedacted("printf '%s' \"$s\" | base32 -w0; echo", List.of(base32(bytes(LONG_SECRET))));
  }

  @Test
  void aSecretPrintedPercentEncodedInLowerCaseIsRedacted() throws Exception {
    assertRedacted(
        "printf '%s' \"$s\" | od -An -v -tx1 | tr -s ' \\n' ' ' | sed 's/ $//; s/^ //; s/ /%/g; s/^/%/'; echo",
        List.of(percentAll(LONG_SECRET, false)));
  }

  @Test
  void aSecretPrintedWithEveryCharacterPercentEncodedIsRedacted() throws Exception {
    assertRedacted(
        "printf '%s' \"$s\" | od -An -v -tx1 | tr -s ' \\n' ' ' | tr a-f A-F | sed 's/ $//; s/^ //; s/ /%/g; s/^/%/'; echo",
        List.of(percentAll(LONG_SECRET, true)));
  }

  @Test
  void aSecretPrintedAsJsonUnicodeEscapesIsRedacted() throws Exception {
    assertRedacted(
        "printf '%s' \"$s\" | od -An -v -tx1 | tr -s ' \\n' ' ' | sed 's/ $//; s/^ //; s/ /\\\\u00/g; s/^/\\\\u00/'; echo",
        List.of(LONG_SECRET.chars().mapToObj(c -> String.format("\\u%04x", c)).collect(Collectors.joining())));
  }

  @Test
  void aSecretSplitByACarriageReturnIsRedacted() throws Exception {
    int half = LONG_SECRET.length() / 2;
    var ran = runSecret("printf '%s\\r%s\\n' \"${s%" + q(LONG_SECRET.substring(half)) + "}\" \"${s#" + q(LONG_SECRET.substring(0, half)) + "}\"");
    assertThat(ran.output().replace("\r", "")).doesNotContain(LONG_SECRET);
    assertThat(ran.output()).doesNotContain(LONG_SECRET.substring(0, half), LONG_SECRET.substring(half));
  }

  @Test
  void aSecretSplitByAnsiCodesIsRedacted() throws Exception {
    int third = LONG_SECRET.length() / 3;
    String a = LONG_SECRET.substring(0, third);
    String b = LONG_SECRET.substring(third, 2 * third);
    String c = LONG_SECRET.substring(2 * third);
    var ran = runSecret("printf '%s\\033[0m%s\\033[31m%s\\n' " + q(a) + " " + q(b) + " " + q(c) + " >/dev/null; "
        + "x=${s#" + q(a) + "}; y=${x%" + q(c) + "}; printf '%s\\033[0m%s\\033[1;31m%s\\n' " + q(a) + " \"$y\" \"${x#" + q(b) + "}\"");
    String stripped = ran.output().replaceAll("\u001b\\[[0-9;]*[A-Za-z]", "");
    assertThat(stripped).doesNotContain(LONG_SECRET);
  }

  // =============================================================================================
  // Helpers

  static final String READ_SECRET = "s=$(sed -n 's/.*\"S\":\"\\([^\"]*\\)\".*/\\1/p');";

  record Ran(Job job, String output) {
    JobState state() {
      return job.getState();
    }

    List<String> lines() {
      return output.lines().map(String::strip).toList();
    }

    @Override
    public String toString() {
      return job.getState() + " exit " + job.getExitCode() + " " + job.getErrorMessage() + "\n" + output;
    }
  }

  record Stolen(long pid, String workerId, String bootstrap, String otp, String jobId) {
    /** Writes the bootstrap back into the frozen worker's stdin and lets it run on. */
    void giveBack() throws Exception {
      try (var out = Files.newOutputStream(Path.of("/proc", Long.toString(pid), "fd", "0"))) {
        out.write(bootstrap.getBytes(StandardCharsets.UTF_8));
      }
      signal("CONT", pid);
    }
  }

  private void assertUnreadable(Path file, Dev server) throws Exception {
    assertThat(Files.exists(file)).as(file + " exists").isTrue();
    String relative = home.relativize(file).toString();
    var ran =
        runAs(mallory,
            "for f in " + q(file.toString()) + " " + q(relative) + " \"$OLDPWD/" + relative + "\"; do"
                + " cat \"$f\" >/dev/null 2>&1 && echo \"READ $f\"; test -e \"$f\" && echo \"SEEN $f\"; done;"
                + " head -c 64 " + q(file.toString()) + " 2>/dev/null | sha256sum; echo DONE");
    assertThat(ran.state()).as(ran.toString()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(ran.lines()).contains("DONE").noneMatch(l -> l.startsWith("READ ") || l.startsWith("SEEN "));
    byte[] head = java.util.Arrays.copyOf(Files.readAllBytes(file), (int) Math.min(64, Files.size(file)));
    assertThat(ran.output()).doesNotContain(sha256(head));
  }

  private void assertVictimGetsItsSecret() throws Exception {
    String secret = "victim-secret-" + UUID.randomUUID();
    String id = queueAs(alice, READ_SECRET + " printf '%s' \"$s\" | sha256sum", Map.of("S", secret), Map.of());
    assertVictimSucceededWith(id, sha256(secret));
  }

  private void assertVictimSucceededWith(String id, String sha) throws Exception {
    var done = awaitFinal(id, alice);
    assertThat(done.state()).as(done.toString()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(done.output()).as("the victim read its secret intact").contains(sha).doesNotContain(SHA_EMPTY);
  }

  private Ran runSecret(String script) throws Exception {
    String id = queueAs(mallory, READ_SECRET + " " + script, Map.of("S", LONG_SECRET), Map.of());
    var ran = awaitFinal(id, mallory);
    assertThat(ran.state()).as(ran.toString()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    return ran;
  }

  private void assertRedacted(String script, List<String> forms) throws Exception {
    var ran = runSecret(script);
    assertThat(ran.output()).as("the job printed something").isNotBlank();
    for (String form : forms) {
      assertThat(ran.output()).doesNotContain(form);
    }
    String joined = ran.output().replace("\n", "").replace("\r", "");
    for (String form : forms) {
      assertThat(joined).doesNotContain(form.replace("\n", ""));
    }
  }

  /** Base64 as {@code base64} prints it: lines of 76 characters. */
  private static List<String> wrapped(String b64) {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < b64.length(); i += 76) {
      lines.add(b64.substring(i, Math.min(b64.length(), i + 76)));
    }
    return List.of(String.join("\n", lines));
  }

  private static String percentAll(String value, boolean upper) {
    String hex = upper ? HexFormat.of().withUpperCase().formatHex(bytes(value)) : HexFormat.of().formatHex(bytes(value));
    var out = new StringBuilder();
    for (int i = 0; i < hex.length(); i += 2) {
      out.append('%').append(hex, i, i + 2);
    }
    return out.toString();
  }

  private static String base32(byte[] data) {
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    var out = new StringBuilder();
    int buffer = 0;
    int bits = 0;
    for (byte b : data) {
      buffer = (buffer << 8) | (b & 0xff);
      bits += 8;
      while (bits >= 5) {
        out.append(alphabet.charAt((buffer >> (bits - 5)) & 31));
        bits -= 5;
      }
    }
    if (bits > 0) {
      out.append(alphabet.charAt((buffer << (5 - bits)) & 31));
    }
    while (out.length() % 8 != 0) {
      out.append('=');
    }
    return out.toString();
  }

  private void assertANewWorkerRegistersAndRunsAJob() throws Exception {
    deregisterIdleWorkers();
    String before = workerIds().toString();
    var victimId = queueAs(alice, READ_SECRET + " printf '%s' \"$s\" | sha256sum", Map.of("S", "after-flood-" + UUID.randomUUID()), Map.of());
    var done = awaitFinal(victimId, alice);
    assertThat(done.state()).as(done.toString()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(before).doesNotContain(done.job().getWorkerId());
  }

  private void deregisterIdleWorkers() {
    try (var channel = new Closing(dev.channel(Optional.of(adminToken)))) {
      var scheduler = SchedulerServiceGrpc.newBlockingStub(channel.channel);
      for (var w : scheduler.listWorkers(ListWorkersRequest.getDefaultInstance()).getWorkersList()) {
        try {
          scheduler.deregisterWorker(DeregisterWorkerRequest.newBuilder().setWorkerId(w.getInfo().getWorkerId()).setReason("test").build());
        } catch (StatusRuntimeException ignored) {
          // already gone
        }
      }
    }
  }

  private List<String> workerIds() {
    try (var channel = new Closing(dev.channel(Optional.of(adminToken)))) {
      return SchedulerServiceGrpc.newBlockingStub(channel.channel).listWorkers(ListWorkersRequest.getDefaultInstance())
          .getWorkersList().stream().map(w -> w.getInfo().getWorkerId()).toList();
    }
  }

  /** A registration as a job could send it from loopback (optionally from another 127.0.0.x). */
  Status.Code register(String workerId, String otp, Optional<String> from) {
    var builder = NettyChannelBuilder.forTarget(dev.address()).usePlaintext();
    from.ifPresent(
        address ->
            builder.localSocketPicker(
                new NettyChannelBuilder.LocalSocketPicker() {
                  @Override
                  public java.net.SocketAddress createSocketAddress(java.net.SocketAddress remote, io.grpc.Attributes attrs) {
                    return new InetSocketAddress(address, 0);
                  }
                }));
    ManagedChannel channel = builder.build();
    try {
      WorkerAgentServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .register(RegisterRequest.newBuilder().setAuthToken(otp).setWorkerInfo(WorkerInfo.newBuilder().setWorkerId(workerId).setName(workerId)).build());
      return Status.Code.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    } finally {
      channel.shutdownNow();
    }
  }

  /**
   * Makes a new worker start (by occupying the others and queueing a victim job), freezes it as
   * soon as it exists, and reads its bootstrap off its stdin pipe, as root. Local provider only;
   * the Docker subclass overrides.
   */
  Stolen stealNextWorkersBootstrap() throws Exception {
    deregisterIdleWorkers();
    var known = new java.util.HashSet<>(workerPids());
    var frozen = new CompletableFuture<Long>();
    var watcher =
        Thread.ofPlatform().daemon().start(() -> {
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
          while (!frozen.isDone() && System.nanoTime() < deadline) {
            for (long pid : workerPids()) {
              if (!known.contains(pid)) {
                try {
                  signal("STOP", pid);
                  frozen.complete(pid);
                } catch (Exception e) {
                  frozen.completeExceptionally(e);
                }
                return;
              }
            }
            Thread.onSpinWait();
          }
          frozen.completeExceptionally(new IllegalStateException("no new worker started"));
        });
    String jobId = queueAs(alice, "echo stolen-worker-ran", Map.of(), Map.of());
    long pid = frozen.get(70, TimeUnit.SECONDS);
    watcher.join();
    String workerId = workerIdOf(pid);
    byte[] stdin = readAvailable(Path.of("/proc", Long.toString(pid), "fd", "0"));
    String bootstrap = new String(stdin, StandardCharsets.UTF_8);
    String otp =
        bootstrap.lines().filter(l -> l.startsWith("token ")).map(l -> l.substring(6).strip()).findFirst()
            .orElseGet(() -> bootstrap.lines().findFirst().orElse(""));
    assertThat(otp).as("the frozen worker %d had not read its bootstrap yet", pid).isNotBlank();
    return new Stolen(pid, workerId, bootstrap, otp, jobId);
  }

  /** Reads what a pipe holds now, without waiting for its writer to close (it may already have). */
  private static byte[] readAvailable(Path pipe) throws Exception {
    var read = CompletableFuture.supplyAsync(() -> {
      try (var in = Files.newInputStream(pipe)) {
        var out = new java.io.ByteArrayOutputStream();
        byte[] buffer = new byte[65536];
        int n;
        while ((n = in.read(buffer)) > 0) {
          out.write(buffer, 0, n);
          if (new String(out.toByteArray(), StandardCharsets.UTF_8).contains("\nend")) {
            break;
          }
        }
        return out.toByteArray();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    return read.get(20, TimeUnit.SECONDS);
  }

  private static String workerIdOf(long pid) {
    String cmd = cmdline(pid);
    int at = cmd.indexOf("--worker-id=");
    if (at >= 0) {
      return cmd.substring(at + 12).split(" ")[0];
    }
    try {
      for (String entry : Files.readString(Path.of("/proc", Long.toString(pid), "environ")).split("\0")) {
        if (entry.startsWith("HODEI_WORKER_ID=")) {
          return entry.substring(16);
        }
      }
    } catch (IOException ignored) {
      // gone
    }
    throw new IllegalStateException("no worker id for " + pid + ": " + cmd);
  }

  /** Worker JVMs of this class's control plane, from the host. */
  List<Long> workerPids() {
    return dev.handle().descendants()
        .filter(p -> {
          String c = cmdline(p.pid());
          return c.contains("io.hodei.worker.WorkerMain") && c.contains("--worker-id=");
        })
        .map(ProcessHandle::pid)
        .toList();
  }

  private void killWorkerOf(long jobPid) throws Exception {
    Optional<ProcessHandle> p = ProcessHandle.of(jobPid);
    while (p.isPresent()) {
      String c = cmdline(p.get().pid());
      if (c.contains("io.hodei.worker.WorkerMain")) {
        signal("KILL", p.get().pid());
        return;
      }
      p = p.get().parent();
    }
    throw new IllegalStateException("no worker above " + jobPid);
  }

  static void signal(String name, long pid) throws Exception {
    var kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid)).redirectErrorStream(true).start();
    assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
  }

  private static String processState(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      return stat.substring(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch (IOException e) {
      return "gone";
    }
  }

  /** Host pids of processes whose command line starts with {@code prefix}. */
  static List<Long> processes(String prefix) {
    return ProcessHandle.allProcesses().filter(p -> cmdline(p.pid()).startsWith(prefix)).map(ProcessHandle::pid).toList();
  }

  static long awaitProcess(String prefix) {
    var found = new long[1];
    await(prefix + " runs")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> {
          var now = processes(prefix);
          if (now.isEmpty()) {
            return false;
          }
          found[0] = now.getFirst();
          return true;
        });
    return found[0];
  }

  /** The process and up to {@code n} of its ancestors (the job's shell, its sandbox). */
  static List<Long> ancestors(long pid, int n) {
    List<Long> chain = new ArrayList<>();
    Optional<ProcessHandle> p = ProcessHandle.of(pid);
    while (p.isPresent() && chain.size() <= n && !cmdline(p.get().pid()).contains("io.hodei.worker.WorkerMain")) {
      chain.add(p.get().pid());
      p = p.get().parent();
    }
    return chain;
  }

  private Optional<Path> hostScriptOf(String canary) {
    for (Path root : List.of(Path.of("/tmp"), Path.of(System.getProperty("java.io.tmpdir")))) {
      try (var walk = Files.find(root, 4, (p, a) -> p.getFileName().toString().equals("script") && a.isRegularFile())) {
        for (Path p : walk.toList()) {
          try {
            if (Files.readString(p).contains(canary)) {
              return Optional.of(p);
            }
          } catch (IOException ignored) {
            // another's
          }
        }
      } catch (IOException | java.io.UncheckedIOException ignored) {
        // unreadable parts
      }
    }
    return Optional.empty();
  }

  static String cmdline(long pid) {
    try {
      return Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).replace('\0', ' ').strip();
    } catch (IOException | java.io.UncheckedIOException e) {
      return "";
    }
  }

  static String join(List<Long> pids) {
    return pids.stream().map(String::valueOf).collect(Collectors.joining(" "));
  }

  /** Single-quoted for sh. */
  static String q(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }

  private static String mode(Path path) throws IOException {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String sha256(String s) {
    return sha256(bytes(s));
  }

  static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String secretKey() {
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    return Base64.getEncoder().encodeToString(key);
  }

  private String createToken(String name, Role role) {
    try (var channel = new Closing(dev.channel(Optional.of(adminToken)))) {
      return AdminServiceGrpc.newBlockingStub(channel.channel).createToken(CreateTokenRequest.newBuilder().setName(name).setRole(role).build()).getToken();
    }
  }

  private static JobDefinition definition(String script, Map<String, String> secrets, Map<String, String> env) {
    return JobDefinition.newBuilder()
        .setName("untrusted")
        .setCommand(CommandSpec.newBuilder().setScript(ScriptCommand.newBuilder().setInterpreter("sh").setContent(script).setNoSafetyHeader(true)))
        .putAllSecrets(secrets)
        .putAllEnv(env)
        .setTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(120))
        .build();
  }

  private JobExecutionServiceGrpc.JobExecutionServiceBlockingStub jobs(String token) {
    return JobExecutionServiceGrpc.newBlockingStub(dev.sharedChannel(token));
  }

  String queueAs(String token, String script, Map<String, String> secrets, Map<String, String> env) {
    return jobs(token).withDeadlineAfter(30, TimeUnit.SECONDS)
        .queueJob(QueueJobRequest.newBuilder().setDefinition(definition(script, secrets, env)).build())
        .getJobId();
  }

  Ran runAs(String token, String script) throws Exception {
    return awaitFinal(queueAs(token, script, Map.of(), Map.of()), token);
  }

  private Job awaitRunning(String id, String token) {
    var job = new Job[1];
    await(id + " runs").atMost(Duration.ofSeconds(60)).until(() -> {
      job[0] = jobs(token).getJob(GetJobRequest.newBuilder().setJobId(id).build()).getJob();
      return job[0].getState() == JobState.JOB_STATE_RUNNING;
    });
    return job[0];
  }

  Ran awaitFinal(String id, String token) {
    var job = new Job[1];
    await(id + " ends")
        .atMost(Duration.ofSeconds(120))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> {
          job[0] = jobs(token).getJob(GetJobRequest.newBuilder().setJobId(id).build()).getJob();
          var s = job[0].getState();
          return s != JobState.JOB_STATE_PENDING && s != JobState.JOB_STATE_SCHEDULED && s != JobState.JOB_STATE_RUNNING;
        });
    var out = new StringBuilder();
    var logs = LogStreamServiceGrpc.newBlockingStub(dev.sharedChannel(token)).withDeadlineAfter(30, TimeUnit.SECONDS)
        .streamLogs(StreamLogsRequest.newBuilder().setJobId(id).build());
    while (logs.hasNext()) {
      for (var line : logs.next().getLinesList()) {
        ByteString data = line.getData();
        out.append(data.toStringUtf8());
        if (!data.isEmpty() && data.byteAt(data.size() - 1) != '\n') {
          out.append('\n');
        }
      }
    }
    return new Ran(job[0], out.toString());
  }

  /** A channel closed at the end of a try block. */
  record Closing(ManagedChannel channel) implements AutoCloseable {
    @Override
    public void close() {
      channel.shutdownNow();
    }
  }

  /** {@code hodei dev} as its own process, started in {@code home} with its own environment. */
  static final class Dev implements AutoCloseable {
    final Path home;
    final Path dataDir;
    final int port;
    final List<String> args;
    final Map<String, String> env;
    final List<String> output = new CopyOnWriteArrayList<>();
    private final Map<String, ManagedChannel> channels = new java.util.concurrent.ConcurrentHashMap<>();
    private Process process;

    Dev(Path home, Path dataDir, List<String> args, Map<String, String> env) throws IOException {
      this.home = home;
      this.dataDir = dataDir;
      this.args = List.copyOf(args);
      this.env = Map.copyOf(env);
      try (var socket = new ServerSocket(0)) {
        this.port = socket.getLocalPort();
      }
    }

    Dev start() throws Exception {
      List<String> command = new ArrayList<>(List.of(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
          "-cp", System.getProperty("java.class.path"), HodeiCli.class.getName(),
          "dev", "--port", Integer.toString(port), "--data-dir", dataDir.toString()));
      command.addAll(args);
      var builder = new ProcessBuilder(command)
          .directory(home.toFile())
          .redirectError(ProcessBuilder.Redirect.appendTo(Path.of("target", "untrusted-server.log").toAbsolutePath().toFile()));
      builder.environment().putAll(env);
      process = builder.start();
      var ready = new CompletableFuture<String>();
      Thread.ofVirtual().start(() -> {
        try (var reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = reader.readLine()) != null) {
            output.add(line);
            if (line.contains("ready on")) {
              ready.complete(line);
            }
          }
          ready.completeExceptionally(new IllegalStateException("server exited before it was ready: " + output));
        } catch (IOException e) {
          ready.completeExceptionally(e);
        }
      });
      ready.get(90, TimeUnit.SECONDS);
      return this;
    }

    ProcessHandle handle() {
      return process.toHandle();
    }

    String address() {
      return "127.0.0.1:" + port;
    }

    ManagedChannel channel(Optional<String> token) {
      var builder = NettyChannelBuilder.forTarget(address()).usePlaintext();
      token.ifPresent(t -> {
        var headers = new Metadata();
        headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + t);
        builder.intercept(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(headers));
      });
      return builder.build();
    }

    /** One channel per token, closed with the server. */
    Channel sharedChannel(String token) {
      return channels.computeIfAbsent(token, t -> channel(Optional.of(t)));
    }

    @Override
    public void close() throws Exception {
      channels.values().forEach(ManagedChannel::shutdownNow);
      if (process != null && process.isAlive()) {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      }
    }
  }
}
