package io.hodei.worker;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Where a worker's mTLS material comes from. A provisioned worker gets PEM text in its {@link
 * Bootstrap}, holds it in memory only and renews it over the channel; a hand-run worker may name
 * files instead ({@value #ENV_CA_FILE}, {@value #ENV_CERT_FILE}, {@value #ENV_KEY_FILE}), which are
 * reloaded when they change. The PEM variables {@value #ENV_CA}, {@value #ENV_CERT} and {@value
 * #ENV_KEY} once carried the text itself: they are refused now ({@link Bootstrap#read}), because
 * the worker's jobs could read its environment.
 */
public sealed interface WorkerTls {
  String ENV_CA = "HODEI_TLS_CA";
  String ENV_CERT = "HODEI_TLS_CERT";
  String ENV_KEY = "HODEI_TLS_KEY";
  String ENV_CA_FILE = "HODEI_TLS_CA_FILE";
  String ENV_CERT_FILE = "HODEI_TLS_CERT_FILE";
  String ENV_KEY_FILE = "HODEI_TLS_KEY_FILE";

  /** PEM text held in memory; never printed. */
  record Pem(String ca, String certificate, String key) implements WorkerTls {
    @Override
    public String toString() {
      return "Pem[<redacted>]";
    }
  }

  /** PEM files, reloaded from disk when they change. */
  record Files(Path ca, Path certificate, Path key) implements WorkerTls {}

  /** The TLS files the environment names, if any; all three or an error. */
  static Optional<WorkerTls> fromEnvironment(Map<String, String> env) {
    if (present(env, ENV_CA_FILE, ENV_CERT_FILE, ENV_KEY_FILE)) {
      return Optional.of(
          new Files(
              Path.of(env.get(ENV_CA_FILE)),
              Path.of(env.get(ENV_CERT_FILE)),
              Path.of(env.get(ENV_KEY_FILE))));
    }
    return Optional.empty();
  }

  private static boolean present(Map<String, String> env, String ca, String cert, String key) {
    int set = 0;
    for (String name : new String[] {ca, cert, key}) {
      if (env.get(name) != null && !env.get(name).isBlank()) {
        set++;
      }
    }
    if (set != 0 && set != 3) {
      throw new IllegalArgumentException(
          ca + ", " + cert + " and " + key + " go together; set all three or none");
    }
    return set == 3;
  }
}
