package io.hodei.wire;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.Duration;
import com.google.protobuf.InvalidProtocolBufferException;
import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.JobConstraints;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.LabelRequirement;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.api.v1.ResourceSpec;
import io.hodei.api.v1.RetryPolicy;
import io.hodei.api.v1.ScriptCommand;
import io.hodei.api.v1.ShellCommand;
import io.hodei.api.v1.Toleration;
import io.hodei.core.error.InvalidSpecException;
import io.hodei.core.job.JobSpec;
import io.hodei.core.job.JobSpecValidator;
import io.hodei.core.job.SpecLimits;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Pattern;

/**
 * The request validator: what {@code QueueJob} does with a client's definition before a job
 * exists ({@link WireMapping#fromRequest}, then {@link JobSpecValidator#validateSecrets} as {@code
 * JobService} does). Whatever a client sends, it is either refused with an {@link
 * InvalidSpecException} naming a field, or accepted as a spec that keeps every limit and that
 * the rest of the server can handle: the store keeps it as the API's JSON and reads back the same
 * spec, and every retry's backoff can be computed.
 *
 * <p>The properties are Jazzer fuzz tests. A plain build replays their inputs (Jazzer's regression
 * mode): each sees the empty input plus the files under {@code
 * WireMappingPropertiesInputs/<method>/} in the test resources, the same every run. For {@code
 * anyBytes…} (the input is the request as sent on the wire) those are 12 hand-made encoded
 * requests ({@code valid-*}: a shell job, a script job with everything set; {@code edge-*}: NaN,
 * infinite and -0.0 cpu, unknown enum numbers, a timeout of {@code Long.MIN_VALUE} seconds, a
 * backoff beyond protobuf's range, nanos that overflow, and the like), each made once by {@code
 * protoc --encode=hodei.v1.QueueJobRequest} from a text request, plus 40 files of {@code head -c
 * 256 /dev/urandom}: 53 inputs, each checked under the default limits and under small ones. For
 * {@code aDefinitionOfRandomFields…} (which draws a definition and the limits from the input)
 * they are 200 files of {@code head -c 512 /dev/urandom}: 201 inputs, of which 79 are accepted
 * (49 under the default limits) and the rest refused on 20-odd different fields. {@code JAZZER_FUZZ=1 ./mvnw
 * test -pl wire -am -Dtest='WireMappingProperties#…'} fuzzes one of them instead (one fuzz test
 * per JVM); see docs/testing.md.
 */
class WireMappingProperties {

  /** Small enough that random inputs reach every limit. */
  private static final SpecLimits SMALL = new SpecLimits(64, 4, 64, 4, 64, 4, 256, 10);

  @FuzzTest
  void anyBytesAreRefusedByFieldOrAcceptedWithinTheLimits(byte[] bytes) {
    QueueJobRequest request;
    try {
      request = QueueJobRequest.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      return; // gRPC answers that itself, before the service sees anything
    }
    for (SpecLimits limits : List.of(SpecLimits.DEFAULTS, SMALL)) {
      refusedByFieldOrAcceptedWithinTheLimits(request.getDefinition(), limits);
    }
  }

  /** Whether the definition being drawn has odd values (one in six of its choices) or none. */
  private boolean wild;

  @FuzzTest
  void aDefinitionOfRandomFieldsIsRefusedByFieldOrAcceptedWithinTheLimits(FuzzedDataProvider data) {
    wild = data.consumeBoolean();
    SpecLimits limits = limits(data);
    JobDefinition definition = definition(data, limits);
    refusedByFieldOrAcceptedWithinTheLimits(definition, limits);
  }

  private static void refusedByFieldOrAcceptedWithinTheLimits(JobDefinition d, SpecLimits limits) {
    JobSpec spec;
    try {
      spec = WireMapping.fromRequest(d, limits);
      JobSpecValidator.validateSecrets(d.getSecretsMap());
    } catch (InvalidSpecException e) {
      assertThat(e.field()).as("the field of %s", e.getMessage()).startsWith("definition").doesNotEndWith(".");
      return;
    } catch (RuntimeException e) {
      throw new AssertionError("Falsified by " + shown(d) + "\nunder " + limits + ": not an InvalidSpecException", e);
    }
    try {
      obeysTheLimits(spec, d, limits);
      theRestOfTheServerCanHandle(spec);
    } catch (AssertionError | RuntimeException e) {
      throw new AssertionError("Falsified by " + shown(d) + "\nunder " + limits + "\naccepted as " + spec, e);
    }
  }

  private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  private static void obeysTheLimits(JobSpec spec, JobDefinition d, SpecLimits limits) {
    assertThat(d.getSerializedSize()).isLessThanOrEqualTo(limits.specBytes());
    assertThat(spec.name().length()).isLessThanOrEqualTo(255);
    switch (spec.command()) {
      case io.hodei.core.job.CommandSpec.Shell shell -> {
        assertThat(shell.cmd()).isNotBlank().doesNotContain("\0");
        assertThat(shell.args()).allSatisfy(arg -> assertThat(arg).doesNotContain("\0"));
        long bytes = utf8(shell.cmd()) + shell.args().stream().mapToLong(arg -> utf8(arg) + 1).sum();
        assertThat(bytes).isLessThanOrEqualTo(limits.scriptBytes());
      }
      case io.hodei.core.job.CommandSpec.Script script -> {
        assertThat(JobSpecValidator.INTERPRETERS).contains(script.interpreter());
        assertThat(script.content()).isNotBlank();
        assertThat(utf8(script.content())).isLessThanOrEqualTo(limits.scriptBytes());
      }
      case null -> throw new AssertionError("accepted without a command");
    }
    assertThat(spec.env().size()).isLessThanOrEqualTo(limits.envVars());
    assertThat(spec.env().entrySet().stream().mapToLong(e -> utf8(e.getKey()) + utf8(e.getValue())).sum())
        .isLessThanOrEqualTo(limits.envBytes());
    spec.env().forEach((name, value) -> {
      assertThat(name).matches(ENV_NAME);
      assertThat(value).doesNotContain("\0");
    });
    spec.workingDir().ifPresent(dir -> assertThat(dir).startsWith("/").doesNotContain("\0"));
    var r = spec.resources();
    assertThat(Double.isFinite(r.cpuCores())).as("cpu %s is finite", r.cpuCores()).isTrue();
    // Compared as Double.compare does (record equality, sorting): -0.0 is below 0.0.
    assertThat(Double.compare(r.cpuCores(), 0.0)).as("cpu %s is not negative", r.cpuCores()).isNotNegative();
    assertThat(r.memoryBytes()).isNotNegative();
    assertThat(r.diskBytes()).isNotNegative();
    assertThat(r.gpu()).isNotNegative();
    spec.timeout().ifPresent(t -> assertThat(t).isPositive().isLessThanOrEqualTo(java.time.Duration.ofDays(30)));
    var retry = spec.retryPolicy();
    assertThat(retry.maxAttempts()).isBetween(1, 100);
    assertThat(retry.initialBackoff().isNegative()).as("initial backoff %s is negative", retry.initialBackoff()).isFalse();
    assertThat(retry.maxBackoff().isNegative()).as("max backoff %s is negative", retry.maxBackoff()).isFalse();
    assertThat(retry.backoffMultiplier()).isGreaterThanOrEqualTo(1.0);
    assertThat(spec.labels().size()).isLessThanOrEqualTo(limits.labels());
    assertThat(spec.labels().keySet()).allSatisfy(key -> assertThat(key).isNotBlank());
    assertThat(spec.labels().entrySet().stream().mapToLong(e -> utf8(e.getKey()) + utf8(e.getValue())).sum())
        .isLessThanOrEqualTo(limits.labelBytes());
    var c = spec.constraints();
    assertThat(c.priority()).isBetween(-limits.maxPriority(), limits.maxPriority());
    assertThat(c.labelSelector().size()).isLessThanOrEqualTo(limits.constraintEntries());
    c.labelSelector().forEach(req -> assertThat(req.values().size()).isLessThanOrEqualTo(limits.constraintEntries()));
    assertThat(c.tolerations().size()).isLessThanOrEqualTo(limits.constraintEntries());
    assertThat(c.requiredCapabilities().size()).isLessThanOrEqualTo(limits.constraintEntries());
    c.strategy().ifPresent(s -> assertThat(io.hodei.core.scheduling.Strategy.parse(s)).isPresent());
    assertThat(spec.logPolicy()).isNotNull();
  }

  /** What the server does with an accepted spec: stores it as JSON, and retries it. */
  private static void theRestOfTheServerCanHandle(JobSpec spec) {
    assertThat(WireMapping.fromJson(WireMapping.toJson(spec))).isEqualTo(spec);
    var retry = spec.retryPolicy();
    var random = new SplittableRandom(retry.maxAttempts());
    for (int attempt = 2; attempt <= retry.maxAttempts(); attempt++) {
      assertThat(retry.backoffBefore(attempt, random).isNegative()).isFalse();
    }
  }

  /** The definition as protobuf's text format, cut short: a long one fills the log. */
  private static String shown(JobDefinition d) {
    String text = d.toString();
    return text.length() <= 4000 ? text : text.substring(0, 4000) + "... (" + text.length() + " characters)";
  }

  private static long utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8).length;
  }

  // ---- definitions, drawn from the fuzzer's input -----------------------------------------

  private SpecLimits limits(FuzzedDataProvider data) {
    if (data.consumeBoolean()) {
      return SpecLimits.DEFAULTS;
    }
    int script = data.consumeInt(1, 400);
    return new SpecLimits(
        script, data.consumeInt(1, 8), data.consumeInt(1, 400), data.consumeInt(1, 8), data.consumeInt(1, 400),
        data.consumeInt(1, 8), data.consumeInt(script, 4000), data.consumeInt(0, 1000));
  }

  private JobDefinition definition(FuzzedDataProvider data, SpecLimits limits) {
    var d = JobDefinition.newBuilder();
    if (data.consumeBoolean()) {
      d.setName(odd(data) ? "n".repeat(data.consumeInt(250, 260)) : text(data, 20));
    }
    command(data).ifPresent(d::setCommand);
    for (int i = 0, n = count(data, limits.envVars()); i < n; i++) {
      d.putEnv(name(data), text(data, 40) + (odd(data) ? "\0" : ""));
    }
    for (int i = 0, n = data.consumeInt(0, 3); i < n; i++) {
      d.putSecrets(name(data), (odd(data) ? "" : "s3cr3t-value-") + text(data, 20));
    }
    if (data.consumeBoolean()) {
      d.setWorkingDir((odd(data) ? data.pickValue(List.of("tmp", "/a\0b", "")) : "/tmp/") + text(data, 5));
    }
    if (data.consumeBoolean()) {
      d.setResources(
          ResourceSpec.newBuilder()
              .setCpuCores(number(data, List.of(0.0, 0.5, 1.0, 1.5, 16.0, Double.MIN_VALUE)))
              .setMemoryBytes(bytes(data))
              .setDiskBytes(bytes(data))
              .setGpu(odd(data) ? data.pickValue(List.of(-1, Integer.MAX_VALUE, Integer.MIN_VALUE)) : data.consumeInt(0, 2)));
    }
    if (data.consumeBoolean()) {
      d.setTimeout(duration(data));
    }
    if (data.consumeBoolean()) {
      var retry = RetryPolicy.newBuilder()
          .setMaxAttempts(
              odd(data)
                  ? data.pickValue(List.of(101, -1, Integer.MAX_VALUE, Integer.MIN_VALUE))
                  : data.pickValue(List.of(0, 1, 3, 100)))
          .setBackoffMultiplier(number(data, List.of(0.0, 1.0, 1.5, 2.0)));
      if (data.consumeBoolean()) {
        retry.setInitialBackoff(duration(data));
      }
      if (data.consumeBoolean()) {
        retry.setMaxBackoff(duration(data));
      }
      d.setRetryPolicy(retry);
    }
    for (int i = 0, n = count(data, limits.labels()); i < n; i++) {
      d.putLabels(data.pickValue(List.of("", " ", "team", "k" + i)) + text(data, 10), text(data, 30));
    }
    if (data.consumeBoolean()) {
      d.setConstraints(constraints(data, limits));
    }
    if (data.consumeBoolean()) {
      d.setLogPolicyValue(enumNumber(data, 2));
    }
    return d.build();
  }

  private java.util.Optional<CommandSpec> command(FuzzedDataProvider data) {
    return switch (data.consumeInt(0, 10)) {
      case 0 -> java.util.Optional.empty();
      case 1, 2, 3, 4, 5 -> {
        var shell = ShellCommand.newBuilder()
            .setCmd((odd(data) ? data.pickValue(List.of("", " ", "a\0b")) : "echo ") + text(data, 30));
        for (int i = 0, n = data.consumeInt(0, 5); i < n; i++) {
          shell.addArgs(text(data, 40) + (odd(data) ? "\0" : ""));
        }
        yield java.util.Optional.of(CommandSpec.newBuilder().setShell(shell).build());
      }
      default -> java.util.Optional.of(
          CommandSpec.newBuilder()
              .setScript(
                  ScriptCommand.newBuilder()
                      .setInterpreter(
                          odd(data)
                              ? data.pickValue(List.of("", " bash", "fish", "BASH"))
                              : data.pickValue(JobSpecValidator.INTERPRETERS.stream().sorted().toList()))
                      .setContent((odd(data) ? data.pickValue(List.of("", " \n")) : "echo hi\n") + text(data, 100))
                      .setNoSafetyHeader(data.consumeBoolean()))
              .build());
    };
  }

  private JobConstraints constraints(FuzzedDataProvider data, SpecLimits limits) {
    var c = JobConstraints.newBuilder();
    for (int i = 0, n = count(data, limits.constraintEntries()); i < n; i++) {
      var r = LabelRequirement.newBuilder().setKey(text(data, 10)).setOperatorValue(enumNumber(data, 5));
      for (int j = 0, m = count(data, limits.constraintEntries()); j < m; j++) {
        r.addValues(text(data, 10));
      }
      c.addLabelSelector(r);
    }
    for (int i = 0, n = count(data, limits.constraintEntries()); i < n; i++) {
      c.addTolerations(
          Toleration.newBuilder()
              .setKey(text(data, 10))
              .setValue(text(data, 10))
              .setExists(data.consumeBoolean())
              .setEffectValue(enumNumber(data, 2)));
    }
    for (int i = 0, n = count(data, limits.constraintEntries()); i < n; i++) {
      c.addRequiredCapabilities(data.pickValue(List.of("shell", "script", "gpu")) + i);
    }
    int most = limits.maxPriority();
    c.setPriority(
        odd(data)
            ? data.pickValue(List.of(most + 1, -most - 1, Integer.MIN_VALUE, Integer.MAX_VALUE))
            : data.pickValue(List.of(0, 1, most, -most)));
    c.setStrategy(
        odd(data)
            ? data.pickValue(List.of("fastest", text(data, 8)))
            : data.pickValue(List.of("", "bin-pack", "LEAST_CONNECTIONS", " round-robin ")));
    c.setPreferredProvider(text(data, 8));
    c.setPreferredZone(text(data, 8));
    return c.build();
  }

  /** A few, or (odd) exactly the limit or one more. */
  private int count(FuzzedDataProvider data, int most) {
    if (odd(data)) {
      return data.consumeBoolean() ? Math.min(most, 16) : Math.min(most + 1, 17);
    }
    return data.consumeInt(0, Math.min(most, 3));
  }

  /** Known values mostly, sometimes numbers no version knows. */
  private int enumNumber(FuzzedDataProvider data, int highest) {
    return odd(data)
        ? data.pickValue(List.of(highest + 1, -1, 99, Integer.MIN_VALUE, Integer.MAX_VALUE))
        : data.consumeInt(0, highest);
  }

  /** In a wild definition, true one time in six: the odd value among ordinary ones. */
  private boolean odd(FuzzedDataProvider data) {
    return wild && data.consumeInt(0, 5) == 0;
  }

  /** One of {@code ordinary}, or (odd) NaN, an infinity, a negative number or zero, or any double. */
  private double number(FuzzedDataProvider data, List<Double> ordinary) {
    return odd(data)
        ? data.pickValue(
            List.of(-0.0, -1.0, 0.5, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -Double.MIN_VALUE,
                Double.MAX_VALUE, data.consumeDouble()))
        : data.pickValue(ordinary);
  }

  /** None, a GiB, or (odd) a negative or huge count. */
  private long bytes(FuzzedDataProvider data) {
    return odd(data)
        ? data.pickValue(List.of(-1L, Long.MAX_VALUE, Long.MIN_VALUE, data.consumeLong()))
        : data.pickValue(List.of(0L, 1L << 30));
  }

  /** Durations inside and far outside protobuf's range (±10,000 years), and nanos that overflow. */
  private Duration duration(FuzzedDataProvider data) {
    if (!odd(data)) {
      return Duration.newBuilder().setSeconds(data.consumeLong(0, 31L * 86_400)).setNanos(data.consumeInt(0, 999_999_999)).build();
    }
    long seconds = data.pickValue(
        List.of(0L, 1L, -1L, 60L, 30L * 86_400, 30L * 86_400 + 1, 315_576_000_000L, 315_576_000_001L,
            -315_576_000_000L, Long.MAX_VALUE, Long.MIN_VALUE, Long.MAX_VALUE / 1000, data.consumeLong()));
    int nanos = data.pickValue(
        List.of(0, 1, -1, 999_999_999, -999_999_999, 1_000_000_000, Integer.MAX_VALUE, Integer.MIN_VALUE, data.consumeInt()));
    return Duration.newBuilder().setSeconds(seconds).setNanos(nanos).build();
  }

  private String name(FuzzedDataProvider data) {
    return odd(data)
        ? data.pickValue(List.of("1A", "A-B", "", "A B", "A\0")) + data.consumeAsciiString(4)
        : data.pickValue(List.of("PATH", "_X", "A1", "SECRET_TOKEN")) + data.consumeInt(0, 99);
  }

  /**
   * Up to {@code maxLength} characters: ASCII mostly, with blanks, non-ASCII and characters
   * outside the BMP, and (odd) a long run that goes past a limit.
   */
  private String text(FuzzedDataProvider data, int maxLength) {
    var s = new StringBuilder();
    for (int i = 0, n = data.consumeInt(0, maxLength); i < n; i++) {
      switch (data.consumeInt(0, 9)) {
        case 0 -> s.append(data.pickValue(List.of(" ", "\t", "\n", "é", "€", "😀")));
        case 1 -> s.append(odd(data) ? "x".repeat(data.consumeInt(1, 100)) : "x");
        default -> s.append(data.consumeChar('!', '~'));
      }
    }
    return s.toString();
  }
}
