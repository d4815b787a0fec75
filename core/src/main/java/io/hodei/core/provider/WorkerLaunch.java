package io.hodei.core.provider;

import io.hodei.core.worker.WorkerId;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a provider needs to start one worker: its settings, which may go into the worker's
 * environment, and its {@link WorkerBootstrap}, which must not. Each provider delivers the
 * bootstrap its own way, through a channel the worker's jobs cannot read.
 *
 * <p>Invariant: {@code env} names none of {@link #CREDENTIAL_VARIABLES}, so whatever a provider
 * puts in a worker's environment holds no credential.
 *
 * @param workerId the id the worker registers under ({@code HODEI_WORKER_ID})
 * @param serverAddress where it reaches the control plane ({@code HODEI_SERVER_ADDRESS})
 * @param bootstrap its one-time token and TLS material
 * @param env further non-secret settings, for example {@code HODEI_DRAIN_TIMEOUT}
 * @param demand what the job the worker is started for asks; empty for a worker started ahead of
 *     demand (a pool's idle minimum)
 */
public record WorkerLaunch(
    WorkerId workerId,
    String serverAddress,
    WorkerBootstrap bootstrap,
    Map<String, String> env,
    java.util.Optional<WorkerDemand> demand) {

  /**
   * Variables that carried credentials once, or carry the control plane's own: refused in a
   * worker's environment.
   */
  public static final List<String> CREDENTIAL_VARIABLES =
      List.of("HODEI_TOKEN", "HODEI_TLS_CA", "HODEI_TLS_CERT", "HODEI_TLS_KEY", "HODEI_SECRET_KEY", "HODEI_API_TOKEN");

  public WorkerLaunch {
    Objects.requireNonNull(workerId, "workerId");
    Objects.requireNonNull(serverAddress, "serverAddress");
    Objects.requireNonNull(bootstrap, "bootstrap");
    env = requireNoCredentials(env);
    Objects.requireNonNull(demand, "demand");
  }

  /** A launch for no job in particular. */
  public WorkerLaunch(WorkerId workerId, String serverAddress, WorkerBootstrap bootstrap, Map<String, String> env) {
    this(workerId, serverAddress, bootstrap, env, java.util.Optional.empty());
  }

  /**
   * {@code env}, copied, if it names no credential variable.
   *
   * @throws IllegalArgumentException naming the first credential variable found
   */
  public static Map<String, String> requireNoCredentials(Map<String, String> env) {
    for (String name : CREDENTIAL_VARIABLES) {
      if (env.containsKey(name)) {
        throw new IllegalArgumentException(
            name + " must not be in a worker's environment: its jobs could read it; credentials travel in the bootstrap");
      }
    }
    return Map.copyOf(env);
  }

  /** The environment a worker starts with: {@link #env()} plus its id and the server's address. */
  public Map<String, String> settings() {
    var all = new HashMap<>(env);
    all.put("HODEI_SERVER_ADDRESS", serverAddress);
    all.put("HODEI_WORKER_ID", workerId.value());
    return Map.copyOf(all);
  }
}
