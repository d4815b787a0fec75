package io.hodei.bench;

import io.hodei.core.job.Resources;
import io.hodei.core.provider.ProviderHealth;
import io.hodei.core.provider.WorkerHandle;
import io.hodei.core.provider.WorkerLaunch;
import io.hodei.core.provider.WorkerProvider;
import io.hodei.server.ControlPlane;
import io.hodei.server.HodeiServer;
import io.hodei.server.PoolSpec;
import io.hodei.server.ServerConfig;
import io.hodei.server.provisioning.PoolPolicy;
import io.hodei.server.provisioning.Provisioner;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The control plane of the {@code scale} benchmark, in a JVM of its own so that its memory is the
 * server's alone: the same {@link ControlPlane} (a {@link HodeiServer} on SQLite in the data
 * directory) as {@code hodei dev}, with one pool, {@code sim}, whose provider starts no process.
 * It prints each launch on stdout instead ({@code LAUNCH <worker id> <otp> <server address>}),
 * and the benchmark's JVM connects a simulated worker with those credentials through the ordinary
 * registration path: the server has no backdoor, it simply cannot tell a simulated worker from a
 * real one.
 *
 * <p>Usage: {@code ScaleServerMain DATA_DIR MAX_WORKERS MIN_IDLE HEARTBEAT_SECONDS}. Prints {@code
 * READY <address>} once serving. Reads commands on stdin: {@code MEM} answers {@code MEM
 * <heap bytes used after a full GC>}; end of input stops the server.
 *
 * <p>Thread-safety: stdout is shared by the provisioner's threads and the command loop; every line
 * is one {@code println} on a {@link PrintStream}, which is synchronized.
 */
public final class ScaleServerMain {
  private ScaleServerMain() {}

  public static void main(String[] args) throws Exception {
    Path data = Path.of(args[0]).toAbsolutePath();
    int maxWorkers = Integer.parseInt(args[1]);
    int minIdle = Integer.parseInt(args[2]);
    Duration heartbeat = Duration.ofSeconds(Long.parseLong(args[3]));
    PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
    // Keep stdout for the protocol: the server's logging goes to stderr (a file, for the bench).
    System.setOut(System.err);

    var provider = new PrintingProvider(out);
    // Registration of thousands of workers takes a while on a loaded machine: a generous timeout
    // keeps the provisioner from destroying workers that are merely queued for registration.
    var policy =
        new PoolPolicy(maxWorkers, Duration.ofHours(1), Duration.ofMinutes(10), minIdle, Duration.ZERO, false, 1);
    var pool =
        new Provisioner.Pool(
            provider,
            policy,
            new Provisioner.WorkerProfile(Provisioner.WorkerProfile.SHELL.capabilities(), Map.of(), List.of(), Resources.NONE));
    var config =
        ServerConfig.defaults()
            .withPort(0)
            .withHeartbeats(heartbeat, heartbeat.multipliedBy(3))
            .withAnonymousRole(io.hodei.core.auth.Role.ADMIN);
    var plane = ControlPlane.start(ControlPlane.Settings.of(data, config).withPools(List.of(new PoolSpec.Custom(pool))));
    out.println("READY " + plane.address());
    try (var in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.equals("MEM")) {
          // Two collections: the first may leave garbage reachable only from finalizable or
          // soft-referenced objects that the second frees.
          System.gc();
          System.gc();
          out.println("MEM " + ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
      }
    } finally {
      plane.close();
    }
  }

  /** A provider whose workers are lines on stdout; the benchmark runs them as simulated workers. */
  private static final class PrintingProvider implements WorkerProvider {
    private final PrintStream out;

    PrintingProvider(PrintStream out) {
      this.out = out;
    }

    @Override
    public String name() {
      return "sim";
    }

    @Override
    public String type() {
      return "simulated";
    }

    @Override
    public WorkerHandle create(WorkerLaunch launch) {
      out.println(
          "LAUNCH " + launch.workerId().value() + " " + launch.bootstrap().otp() + " " + launch.serverAddress());
      return new WorkerHandle(launch.workerId(), name(), launch.workerId().value());
    }

    @Override
    public void destroy(WorkerHandle handle) {
      out.println("DESTROY " + handle.workerId().value());
    }

    @Override
    public boolean isAlive(WorkerHandle handle) {
      return true;
    }

    @Override
    public ProviderHealth health() {
      return new ProviderHealth.Healthy();
    }
  }
}
