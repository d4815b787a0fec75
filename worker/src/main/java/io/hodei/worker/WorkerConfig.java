package io.hodei.worker;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything a worker agent needs to run. Built from the environment and the worker's {@link
 * Bootstrap} with {@link #fromEnvironment(Map, Bootstrap)} or from code with {@link #of(String,
 * String, String)} and the {@code with*} methods.
 *
 * <p>The one-time token and the PEM material come from the {@link Bootstrap} only, never from the
 * environment, which the worker's jobs could read. Environment variables, none of them secret:
 * {@value #ENV_SERVER_ADDRESS} ({@code host:port}), {@value #ENV_WORKER_ID}; optional {@value
 * #ENV_WORKER_NAME} (defaults to the id), {@value #ENV_WORKER_LABELS} ({@code k=v,k=v}),
 * {@value #ENV_KILL_GRACE} and {@value #ENV_METRICS_TTL} (durations such as {@code 10s}, {@code
 * 500ms} or {@code 2m}; see {@link #parseDuration}).
 *
 * @param token the one-time password traded for a session at registration; never logged
 * @param serverAddress the control plane's worker endpoint, {@code host:port}, or every replica's,
 *     comma-separated: the worker attaches to the first that answers, and to another when it goes
 * @param workerId the id the worker registers under
 * @param name a human-friendly name
 * @param labels labels the scheduler matches job selectors against
 * @param tempRoot the worker's private directory for job scripts; leftovers in it are deleted on
 *     start
 * @param logBatching how job output is cut into lines and grouped into messages
 * @param reconnect how the worker retries when the server is unreachable
 * @param outboxCapacity how many job messages (log batches, starts, results) may wait for the
 *     stream, log batches sent but not yet acknowledged by the server included, before the jobs
 *     producing them block
 * @param killGracePeriod how long a killed job's processes get between SIGTERM and SIGKILL
 *     (default {@link #DEFAULT_KILL_GRACE_PERIOD})
 * @param drainTimeout on a graceful stop (SIGTERM), how long running jobs may go on before they
 *     are cancelled (env {@value #ENV_DRAIN_TIMEOUT}, default {@link #DEFAULT_DRAIN_TIMEOUT}; zero
 *     cancels them at once)
 * @param metricsTtl how often the worker samples its resource usage; heartbeats carry the newest
 *     sample, so it is at most this old (default {@link #DEFAULT_METRICS_TTL})
 * @param tls mTLS material for the channel to the control plane (see {@link WorkerTls}); empty
 *     talks plaintext
 */
public record WorkerConfig(
    String token,
    String serverAddress,
    String workerId,
    String name,
    Map<String, String> labels,
    Path tempRoot,
    LogBatching logBatching,
    Reconnect reconnect,
    int outboxCapacity,
    Duration killGracePeriod,
    Duration drainTimeout,
    Duration metricsTtl,
    Optional<WorkerTls> tls) {

  /**
   * Once the token's variable; now refused ({@link Bootstrap#read}) and kept out of jobs'
   * environments, so that a token put there by mistake reaches no job.
   */
  public static final String ENV_TOKEN = "HODEI_TOKEN";
  public static final String ENV_SERVER_ADDRESS = "HODEI_SERVER_ADDRESS";
  public static final String ENV_WORKER_ID = "HODEI_WORKER_ID";
  public static final String ENV_WORKER_NAME = "HODEI_WORKER_NAME";
  public static final String ENV_WORKER_LABELS = "HODEI_WORKER_LABELS";
  public static final String ENV_KILL_GRACE = "HODEI_KILL_GRACE";
  public static final String ENV_METRICS_TTL = "HODEI_METRICS_TTL";
  public static final String ENV_DRAIN_TIMEOUT = "HODEI_DRAIN_TIMEOUT";

  /**
   * 32 messages: with batches of up to 4096 lines / 256 KiB ({@link LogBatching#defaults()}) the
   * same bytes and lines in flight as 128 batches of 1000 lines / 64 KiB were, so the worker's
   * memory bound is unchanged (a 48 MiB heap carries a two-million-line flood).
   */
  public static final int DEFAULT_OUTBOX_CAPACITY = 32;
  public static final Duration DEFAULT_KILL_GRACE_PERIOD = Duration.ofSeconds(10);
  public static final Duration DEFAULT_METRICS_TTL = Duration.ofSeconds(35);
  public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(30);

  public WorkerConfig {
    requireText(token, "the one-time token");
    requireText(workerId, ENV_WORKER_ID);
    ServerAddress.parseList(requireText(serverAddress, ENV_SERVER_ADDRESS));
    name = name == null || name.isBlank() ? workerId : name;
    labels = Map.copyOf(Objects.requireNonNull(labels, "labels"));
    Objects.requireNonNull(tempRoot, "tempRoot");
    Objects.requireNonNull(logBatching, "logBatching");
    Objects.requireNonNull(reconnect, "reconnect");
    if (outboxCapacity < 1) {
      throw new IllegalArgumentException("outboxCapacity must be at least 1: " + outboxCapacity);
    }
    requirePositive(killGracePeriod, "killGracePeriod");
    requirePositive(metricsTtl, "metricsTtl");
    Objects.requireNonNull(drainTimeout, "drainTimeout");
    Objects.requireNonNull(tls, "tls");
    if (drainTimeout.isNegative()) {
      throw new IllegalArgumentException("drainTimeout must not be negative: " + drainTimeout);
    }
  }

  /** A configuration with defaults for everything but the three required values. */
  public static WorkerConfig of(String token, String serverAddress, String workerId) {
    return new WorkerConfig(
        token,
        serverAddress,
        workerId,
        workerId,
        Map.of(),
        defaultTempRoot(workerId),
        LogBatching.defaults(),
        Reconnect.defaults(),
        DEFAULT_OUTBOX_CAPACITY,
        DEFAULT_KILL_GRACE_PERIOD,
        DEFAULT_DRAIN_TIMEOUT,
        DEFAULT_METRICS_TTL,
        Optional.empty());
  }

  /**
   * The settings in {@code env} (the process environment in production, a map in tests) with the
   * token and TLS material of {@code bootstrap}; TLS files named in {@code env} are used when the
   * bootstrap has no TLS material. An {@link IllegalArgumentException} names what's missing.
   */
  public static WorkerConfig fromEnvironment(Map<String, String> env, Bootstrap bootstrap) {
    List<String> missing = new ArrayList<>();
    for (String required : List.of(ENV_SERVER_ADDRESS, ENV_WORKER_ID)) {
      if (isBlank(env.get(required))) {
        missing.add(required);
      }
    }
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(
          "missing environment variable(s): " + String.join(", ", missing));
    }
    String serverAddress = env.get(ENV_SERVER_ADDRESS).strip();
    WorkerConfig config =
        of(bootstrap.token(), serverAddress, env.get(ENV_WORKER_ID).strip())
            .withName(env.get(ENV_WORKER_NAME))
            .withLabels(parseLabels(env.getOrDefault(ENV_WORKER_LABELS, "")));
    String killGrace = env.get(ENV_KILL_GRACE);
    if (!isBlank(killGrace)) {
      config = config.withKillGracePeriod(parseDuration(killGrace, ENV_KILL_GRACE));
    }
    String drain = env.get(ENV_DRAIN_TIMEOUT);
    if (!isBlank(drain)) {
      config =
          config.withDrainTimeout(
              drain.strip().matches("0+[a-z]*") ? Duration.ZERO : parseDuration(drain, ENV_DRAIN_TIMEOUT));
    }
    String metricsTtl = env.get(ENV_METRICS_TTL);
    if (!isBlank(metricsTtl)) {
      config = config.withMetricsTtl(parseDuration(metricsTtl, ENV_METRICS_TTL));
    }
    Optional<WorkerTls> tls = bootstrap.tls().<WorkerTls>map(pem -> pem).or(() -> WorkerTls.fromEnvironment(env));
    if (tls.isPresent()) {
      config = config.withTls(tls.get());
    }
    return config;
  }

  /**
   * Parses a positive duration written as a whole number and a unit: {@code ms}, {@code s},
   * {@code m} or {@code h} ({@code 500ms}, {@code 10s}, {@code 2m}). The error names {@code
   * variable}.
   */
  public static Duration parseDuration(String text, String variable) {
    String value = text == null ? "" : text.strip();
    int unitStart = 0;
    while (unitStart < value.length() && Character.isDigit(value.charAt(unitStart))) {
      unitStart++;
    }
    String amount = value.substring(0, unitStart);
    String unit = value.substring(unitStart).strip();
    Duration duration;
    try {
      if (amount.isEmpty()) {
        throw new NumberFormatException("no amount");
      }
      long number = Long.parseLong(amount);
      duration =
          switch (unit) {
            case "ms" -> Duration.ofMillis(number);
            case "s" -> Duration.ofSeconds(number);
            case "m" -> Duration.ofMinutes(number);
            case "h" -> Duration.ofHours(number);
            default -> throw new NumberFormatException("unknown unit");
          };
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException(
          variable + ": expected a duration such as 10s, 500ms or 2m (units ms, s, m, h), got '"
              + value + "'");
    }
    if (duration.isZero()) {
      throw new IllegalArgumentException(
          variable + ": must be longer than zero, got '" + value + "'");
    }
    return duration;
  }

  /** Parses {@code k=v,k=v}; blanks around keys and values are ignored, empty entries skipped. */
  public static Map<String, String> parseLabels(String text) {
    Map<String, String> labels = new LinkedHashMap<>();
    if (text == null) {
      return labels;
    }
    for (String entry : text.split(",")) {
      if (entry.isBlank()) {
        continue;
      }
      int eq = entry.indexOf('=');
      if (eq <= 0 || entry.substring(0, eq).isBlank()) {
        throw new IllegalArgumentException(
            ENV_WORKER_LABELS + ": expected key=value, got '" + entry.strip() + "'");
      }
      String key = entry.substring(0, eq).strip();
      if (labels.put(key, entry.substring(eq + 1).strip()) != null) {
        throw new IllegalArgumentException(ENV_WORKER_LABELS + ": label '" + key + "' given twice");
      }
    }
    return labels;
  }

  /** {@code java.io.tmpdir/hodei-worker-<workerId>}, the id cut down to file-name-safe chars. */
  public static Path defaultTempRoot(String workerId) {
    String safeId = workerId.replaceAll("[^A-Za-z0-9._-]", "_");
    return Path.of(System.getProperty("java.io.tmpdir"), "hodei-worker-" + safeId);
  }

  public WorkerConfig withName(String name) {
    return new WorkerConfig(
        token, serverAddress, workerId, name, labels, tempRoot, logBatching, reconnect,
        outboxCapacity, killGracePeriod, drainTimeout, metricsTtl, tls);
  }

  public WorkerConfig withLabels(Map<String, String> labels) {
    return new WorkerConfig(
        token, serverAddress, workerId, name, labels, tempRoot, logBatching, reconnect,
        outboxCapacity, killGracePeriod, drainTimeout, metricsTtl, tls);
  }

  public WorkerConfig withTempRoot(Path tempRoot) {
    return new WorkerConfig(
        token, serverAddress, workerId, name, labels, tempRoot, logBatching, reconnect,
        outboxCapacity, killGracePeriod, drainTimeout, metricsTtl, tls);
  }

  public WorkerConfig withLogBatching(LogBatching logBatching) {
    return new WorkerConfig(
        token, serverAddress, workerId, name, labels, tempRoot, logBatching, reconnect,
        outboxCapacity, killGracePeriod, drainTimeout, metricsTtl, tls);
  }

  public WorkerConfig withReconnect(Reconnect reconnect) {
    return new WorkerConfig(
        token, serverAddress, workerId, name, labels, tempRoot, logBatching, reconnect,
        outboxCapacity, killGracePeriod, drainTimeout, metricsTtl, tls);
  }

  public WorkerConfig withOutboxCapacity(int outboxCapacity) {
    return new WorkerConfig(
        token, serverAddress, workerId, name, labels, tempRoot, logBatching, reconnect,
        outboxCapacity, killGracePeriod, drainTimeout, metricsTtl, tls);
  }

  public WorkerConfig withKillGracePeriod(Duration killGracePeriod) {
    return new WorkerConfig(
        token, serverAddress, workerId, name, labels, tempRoot, logBatching, reconnect,
        outboxCapacity, killGracePeriod, drainTimeout, metricsTtl, tls);
  }

  public WorkerConfig withDrainTimeout(Duration drainTimeout) {
    return new WorkerConfig(
        token, serverAddress, workerId, name, labels, tempRoot, logBatching, reconnect,
        outboxCapacity, killGracePeriod, drainTimeout, metricsTtl, tls);
  }

  public WorkerConfig withMetricsTtl(Duration metricsTtl) {
    return new WorkerConfig(
        token, serverAddress, workerId, name, labels, tempRoot, logBatching, reconnect,
        outboxCapacity, killGracePeriod, drainTimeout, metricsTtl, tls);
  }

  public WorkerConfig withTls(WorkerTls tls) {
    return new WorkerConfig(
        token, serverAddress, workerId, name, labels, tempRoot, logBatching, reconnect,
        outboxCapacity, killGracePeriod, drainTimeout, metricsTtl, Optional.of(tls));
  }

  /** Never prints the token. */
  @Override
  public String toString() {
    return ("WorkerConfig[token=<redacted>, serverAddress=%s, workerId=%s, name=%s, labels=%s,"
            + " tempRoot=%s, logBatching=%s, reconnect=%s, outboxCapacity=%d,"
            + " killGracePeriod=%s, drainTimeout=%s, metricsTtl=%s, tls=%s]")
        .formatted(
            serverAddress, workerId, name, labels, tempRoot, logBatching, reconnect,
            outboxCapacity, killGracePeriod, drainTimeout, metricsTtl, tls.isPresent() ? "on" : "off");
  }

  /**
   * How job output becomes {@code LogBatch} messages.
   *
   * @param maxLineBytes longer lines are sent in pieces of this many bytes
   * @param maxBatchBytes a batch is sent once its lines hold this many bytes
   * @param maxBatchLines a batch is sent once it holds this many lines
   * @param maxBatchDelay a batch is sent at the latest this long after its first line
   */
  public record LogBatching(
      int maxLineBytes, int maxBatchBytes, int maxBatchLines, Duration maxBatchDelay) {

    public LogBatching {
      if (maxLineBytes < 1 || maxBatchBytes < 1 || maxBatchLines < 1) {
        throw new IllegalArgumentException("log batching limits must be positive: " + maxLineBytes
            + ", " + maxBatchBytes + ", " + maxBatchLines);
      }
      requirePositive(maxBatchDelay, "maxBatchDelay");
    }

    /**
     * 64 KiB lines; batches of 256 KiB or 4096 lines, sent within 50 ms. A chatty job's lines
     * cost the server one message, one store transaction and one follower read per batch, so
     * the batch is as large as the worker's bounded outbox affords (the logs benchmark: 1000-line
     * batches left the server busy with per-batch work); a quiet job still gets its lines out
     * within the delay.
     */
    public static LogBatching defaults() {
      return new LogBatching(64 * 1024, 256 * 1024, 4096, Duration.ofMillis(50));
    }
  }

  /**
   * How the worker reaches the server again after losing it.
   *
   * @param initialBackoff the first wait; each failed try doubles it (with jitter)
   * @param maxBackoff the longest wait between tries
   * @param deadline the worker gives up and exits after this long without an attached stream
   */
  public record Reconnect(Duration initialBackoff, Duration maxBackoff, Duration deadline) {

    public Reconnect {
      requirePositive(initialBackoff, "initialBackoff");
      requirePositive(maxBackoff, "maxBackoff");
      requirePositive(deadline, "deadline");
      if (maxBackoff.compareTo(initialBackoff) < 0) {
        throw new IllegalArgumentException("maxBackoff is shorter than initialBackoff");
      }
    }

    /** 200 ms doubling to 10 s; give up after 5 minutes. */
    public static Reconnect defaults() {
      return new Reconnect(Duration.ofMillis(200), Duration.ofSeconds(10), Duration.ofMinutes(5));
    }
  }

  private static String requireText(String value, String what) {
    if (isBlank(value)) {
      throw new IllegalArgumentException(what + " is required");
    }
    return value;
  }

  private static boolean isBlank(String value) {
    return value == null || value.isBlank();
  }

  private static void requirePositive(Duration value, String what) {
    Objects.requireNonNull(value, what);
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(what + " must be positive: " + value);
    }
  }
}
