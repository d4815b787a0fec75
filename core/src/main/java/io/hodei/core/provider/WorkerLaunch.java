package io.hodei.core.provider;

import io.hodei.core.worker.WorkerId;
import java.util.Map;

/**
 * What a provider needs to start one worker. The worker receives {@code otp}, {@code
 * serverAddress} and {@code workerId} as {@code HODEI_TOKEN}, {@code HODEI_SERVER_ADDRESS} and
 * {@code HODEI_WORKER_ID}. With mTLS on, {@code env} also carries the worker's own certificate,
 * key and CA certificate ({@code HODEI_TLS_CERT}, {@code HODEI_TLS_KEY}, {@code HODEI_TLS_CA}).
 */
public record WorkerLaunch(
    WorkerId workerId, String otp, String serverAddress, Map<String, String> env) {

  public WorkerLaunch {
    env = Map.copyOf(env);
  }

  /** The environment a worker starts with: {@link #env()} plus the registration variables. */
  public Map<String, String> workerEnvironment() {
    var all = new java.util.HashMap<>(env);
    all.put("HODEI_TOKEN", otp);
    all.put("HODEI_SERVER_ADDRESS", serverAddress);
    all.put("HODEI_WORKER_ID", workerId.value());
    return Map.copyOf(all);
  }
}
