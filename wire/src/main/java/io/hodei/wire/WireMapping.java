package io.hodei.wire;

import com.google.protobuf.Duration;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.JsonFormat;
import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.LabelRequirement;
import io.hodei.api.v1.ResourceSpec;
import io.hodei.api.v1.ScriptCommand;
import io.hodei.api.v1.SelectorOperator;
import io.hodei.api.v1.ShellCommand;
import io.hodei.api.v1.TaintEffect;
import io.hodei.api.v1.Toleration;
import io.hodei.core.job.Constraints;
import io.hodei.core.job.JobSpec;
import io.hodei.core.job.JobState;
import io.hodei.core.job.Resources;
import io.hodei.core.job.RetryPolicy;
import java.time.Instant;
import java.util.Optional;

/**
 * The one mapping between domain values and their v1 wire form. The server uses it for the API;
 * the store uses it to keep a job's spec as the API's own JSON, so stored specs evolve exactly as
 * the API does. Mapping is lenient: it never rejects input, {@link
 * io.hodei.core.job.JobSpecValidator} does.
 */
public final class WireMapping {
  private static final JsonFormat.Printer JSON = JsonFormat.printer().omittingInsignificantWhitespace();
  private static final JsonFormat.Parser JSON_PARSER = JsonFormat.parser().ignoringUnknownFields();

  private WireMapping() {}

  // ---- job spec --------------------------------------------------------------------------

  public static JobSpec toDomain(JobDefinition d) {
    return new JobSpec(
        d.getName(),
        toDomain(d.getCommand()),
        d.getEnvMap(),
        d.getWorkingDir().isEmpty() ? Optional.empty() : Optional.of(d.getWorkingDir()),
        toDomain(d.getResources()),
        toDomain(d.getConstraints()),
        d.hasTimeout() && !isZero(d.getTimeout())
            ? Optional.of(toDomain(d.getTimeout()))
            : Optional.empty(),
        toDomain(d.getRetryPolicy(), d.hasRetryPolicy()),
        d.getLabelsMap(),
        // Names only: the values never enter the domain's spec.
        new java.util.TreeSet<>(d.getSecretsMap().keySet()),
        d.getLogPolicy() == io.hodei.api.v1.LogPolicy.LOG_POLICY_DROP
            ? io.hodei.core.job.LogPolicy.DROP
            : io.hodei.core.job.LogPolicy.LOSSLESS);
  }

  /**
   * A definition as a client sent it, to the domain, checked: enum numbers this version does not
   * know, durations outside protobuf's range, then {@link io.hodei.core.job.JobSpecValidator}'s
   * rules under {@code limits}, then the encoded size of the whole; each refusal names its field.
   */
  public static JobSpec fromRequest(JobDefinition d, io.hodei.core.job.SpecLimits limits) {
    if (d.getLogPolicy() == io.hodei.api.v1.LogPolicy.UNRECOGNIZED) {
      throw invalid("definition.log_policy", "unknown value " + d.getLogPolicyValue() + "; known: "
          + known(io.hodei.api.v1.LogPolicy.values()));
    }
    for (LabelRequirement r : d.getConstraints().getLabelSelectorList()) {
      if (r.getOperator() == SelectorOperator.UNRECOGNIZED) {
        throw invalid("definition.constraints.label_selector.operator", "unknown value " + r.getOperatorValue()
            + " for key '" + r.getKey() + "'; known: " + known(SelectorOperator.values()));
      }
    }
    for (Toleration t : d.getConstraints().getTolerationsList()) {
      if (t.getEffect() == TaintEffect.UNRECOGNIZED) {
        throw invalid("definition.constraints.tolerations.effect", "unknown value " + t.getEffectValue()
            + " for key '" + t.getKey() + "'; known: " + known(TaintEffect.values()));
      }
    }
    // Durations the domain cannot hold, or the store could not print as the API's JSON.
    if (d.hasTimeout()) {
      validDuration("definition.timeout", d.getTimeout());
    }
    if (d.getRetryPolicy().hasInitialBackoff()) {
      validDuration("definition.retry_policy.initial_backoff", d.getRetryPolicy().getInitialBackoff());
    }
    if (d.getRetryPolicy().hasMaxBackoff()) {
      validDuration("definition.retry_policy.max_backoff", d.getRetryPolicy().getMaxBackoff());
    }
    // Each field's own rule first, so that the answer names the field that is too big.
    JobSpec spec = io.hodei.core.job.JobSpecValidator.validate(toDomain(d), limits);
    int size = d.getSerializedSize();
    if (size > limits.specBytes()) {
      throw invalid("definition", "has " + size + " bytes; at most " + limits.specBytes());
    }
    return spec;
  }

  /**
   * Refuses a duration outside protobuf's range (±10,000 years, nanos of the seconds' sign below
   * a second): the domain could overflow on it, and the store's JSON cannot print it.
   */
  private static void validDuration(String field, Duration d) {
    if (!com.google.protobuf.util.Durations.isValid(d)) {
      throw invalid(field, "not a valid duration (seconds " + d.getSeconds() + ", nanos " + d.getNanos()
          + "): seconds must be within ±315576000000 and nanos within ±999999999, of the same sign");
    }
  }

  /** The numbers and names of an enum's known values, for an error message. */
  public static String known(com.google.protobuf.ProtocolMessageEnum[] values) {
    return java.util.Arrays.stream(values)
        .filter(v -> !v.toString().equals("UNRECOGNIZED"))
        .map(v -> v.getNumber() + " (" + v + ")")
        .collect(java.util.stream.Collectors.joining(", "));
  }

  private static io.hodei.core.error.InvalidSpecException invalid(String field, String problem) {
    return new io.hodei.core.error.InvalidSpecException(field, problem);
  }

  public static JobDefinition toWire(JobSpec spec) {
    var b =
        JobDefinition.newBuilder()
            .setName(spec.name() == null ? "" : spec.name())
            .putAllEnv(spec.env())
            .setWorkingDir(spec.workingDir().orElse(""))
            .setResources(toWire(spec.resources()))
            .setConstraints(toWire(spec.constraints()))
            .setRetryPolicy(toWire(spec.retryPolicy()))
            .putAllLabels(spec.labels())
            .setLogPolicy(
                spec.logPolicy() == io.hodei.core.job.LogPolicy.DROP
                    ? io.hodei.api.v1.LogPolicy.LOG_POLICY_DROP
                    : io.hodei.api.v1.LogPolicy.LOG_POLICY_UNSPECIFIED);
    // Names with empty values: what the API shows and the store keeps.
    spec.secretNames().forEach(name -> b.putSecrets(name, ""));
    if (spec.command() != null) {
      b.setCommand(toWire(spec.command()));
    }
    spec.timeout().ifPresent(t -> b.setTimeout(toWire(t)));
    return b.build();
  }

  /** The spec as the API's JSON, for storage. */
  public static String toJson(JobSpec spec) {
    try {
      return JSON.print(toWire(spec));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a JobDefinition always prints", e);
    }
  }

  public static JobSpec fromJson(String json) {
    var b = JobDefinition.newBuilder();
    try {
      JSON_PARSER.merge(json, b);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("stored job spec is not valid JSON: " + e.getMessage(), e);
    }
    return toDomain(b.build());
  }

  public static io.hodei.core.job.CommandSpec toDomain(CommandSpec c) {
    return switch (c.getCommandTypeCase()) {
      case SHELL ->
          new io.hodei.core.job.CommandSpec.Shell(c.getShell().getCmd(), c.getShell().getArgsList());
      case SCRIPT ->
          new io.hodei.core.job.CommandSpec.Script(
              c.getScript().getInterpreter(), c.getScript().getContent(), !c.getScript().getNoSafetyHeader());
      case COMMANDTYPE_NOT_SET -> null;
    };
  }

  public static CommandSpec toWire(io.hodei.core.job.CommandSpec c) {
    return switch (c) {
      case io.hodei.core.job.CommandSpec.Shell s ->
          CommandSpec.newBuilder()
              .setShell(ShellCommand.newBuilder().setCmd(s.cmd()).addAllArgs(s.args()))
              .build();
      case io.hodei.core.job.CommandSpec.Script s ->
          CommandSpec.newBuilder()
              .setScript(
                  ScriptCommand.newBuilder()
                      .setInterpreter(s.interpreter())
                      .setContent(s.content())
                      .setNoSafetyHeader(!s.safetyHeader()))
              .build();
    };
  }

  /** Adding 0.0 turns a cpu of -0.0 into 0.0, "not stated", which is what a client means by it. */
  public static Resources toDomain(ResourceSpec r) {
    return new Resources(r.getCpuCores() + 0.0, r.getMemoryBytes(), r.getDiskBytes(), r.getGpu());
  }

  public static ResourceSpec toWire(Resources r) {
    return ResourceSpec.newBuilder()
        .setCpuCores(r.cpuCores())
        .setMemoryBytes(r.memoryBytes())
        .setDiskBytes(r.diskBytes())
        .setGpu(r.gpu())
        .build();
  }

  private static Constraints toDomain(io.hodei.api.v1.JobConstraints c) {
    return new Constraints(
        c.getLabelSelectorList().stream()
            .map(
                r ->
                    new io.hodei.core.job.LabelRequirement(
                        r.getKey(), toDomain(r.getOperator()), r.getValuesList()))
            .toList(),
        c.getTolerationsList().stream()
            .map(
                t ->
                    new io.hodei.core.job.Toleration(
                        t.getKey(), t.getValue(), t.getExists(), toDomain(t.getEffect())))
            .toList(),
        optional(c.getPreferredProvider()),
        c.getPriority(),
        new java.util.HashSet<>(c.getRequiredCapabilitiesList()),
        optional(c.getPreferredZone()),
        optional(c.getPreferredRegion()),
        optional(c.getStrategy()));
  }

  private static Optional<String> optional(String value) {
    return value.isEmpty() ? Optional.empty() : Optional.of(value);
  }

  private static io.hodei.api.v1.JobConstraints toWire(Constraints c) {
    return io.hodei.api.v1.JobConstraints.newBuilder()
        .addAllLabelSelector(
            c.labelSelector().stream()
                .map(
                    r ->
                        LabelRequirement.newBuilder()
                            .setKey(r.key())
                            .setOperator(toWire(r.operator()))
                            .addAllValues(r.values())
                            .build())
                .toList())
        .addAllTolerations(
            c.tolerations().stream()
                .map(
                    t ->
                        Toleration.newBuilder()
                            .setKey(t.key())
                            .setValue(t.value())
                            .setExists(t.exists())
                            .setEffect(toWire(t.effect()))
                            .build())
                .toList())
        .setPreferredProvider(c.preferredProvider().orElse(""))
        .setPriority(c.priority())
        .addAllRequiredCapabilities(c.requiredCapabilities().stream().sorted().toList())
        .setPreferredZone(c.preferredZone().orElse(""))
        .setPreferredRegion(c.preferredRegion().orElse(""))
        .setStrategy(c.strategy().orElse(""))
        .build();
  }

  private static io.hodei.core.job.LabelRequirement.Operator toDomain(SelectorOperator op) {
    return switch (op) {
      case SELECTOR_OPERATOR_IN -> io.hodei.core.job.LabelRequirement.Operator.IN;
      case SELECTOR_OPERATOR_NOT_IN -> io.hodei.core.job.LabelRequirement.Operator.NOT_IN;
      case SELECTOR_OPERATOR_EXISTS -> io.hodei.core.job.LabelRequirement.Operator.EXISTS;
      case SELECTOR_OPERATOR_DOES_NOT_EXIST ->
          io.hodei.core.job.LabelRequirement.Operator.DOES_NOT_EXIST;
      default -> io.hodei.core.job.LabelRequirement.Operator.EQUALS;
    };
  }

  private static SelectorOperator toWire(io.hodei.core.job.LabelRequirement.Operator op) {
    return switch (op) {
      case EQUALS -> SelectorOperator.SELECTOR_OPERATOR_EQUALS;
      case IN -> SelectorOperator.SELECTOR_OPERATOR_IN;
      case NOT_IN -> SelectorOperator.SELECTOR_OPERATOR_NOT_IN;
      case EXISTS -> SelectorOperator.SELECTOR_OPERATOR_EXISTS;
      case DOES_NOT_EXIST -> SelectorOperator.SELECTOR_OPERATOR_DOES_NOT_EXIST;
    };
  }

  public static io.hodei.core.worker.TaintEffect toDomain(TaintEffect e) {
    return e == TaintEffect.TAINT_EFFECT_PREFER_NO_SCHEDULE
        ? io.hodei.core.worker.TaintEffect.PREFER_NO_SCHEDULE
        : io.hodei.core.worker.TaintEffect.NO_SCHEDULE;
  }

  public static TaintEffect toWire(io.hodei.core.worker.TaintEffect e) {
    return switch (e) {
      case NO_SCHEDULE -> TaintEffect.TAINT_EFFECT_NO_SCHEDULE;
      case PREFER_NO_SCHEDULE -> TaintEffect.TAINT_EFFECT_PREFER_NO_SCHEDULE;
    };
  }

  private static RetryPolicy toDomain(io.hodei.api.v1.RetryPolicy r, boolean present) {
    if (!present) {
      return RetryPolicy.NONE;
    }
    return new RetryPolicy(
        r.getMaxAttempts() == 0 ? 1 : r.getMaxAttempts(),
        r.hasInitialBackoff()
            ? toDomain(r.getInitialBackoff())
            : RetryPolicy.NONE.initialBackoff(),
        r.getBackoffMultiplier() == 0
            ? RetryPolicy.NONE.backoffMultiplier()
            : r.getBackoffMultiplier(),
        r.hasMaxBackoff() ? toDomain(r.getMaxBackoff()) : RetryPolicy.NONE.maxBackoff());
  }

  private static io.hodei.api.v1.RetryPolicy toWire(RetryPolicy r) {
    return io.hodei.api.v1.RetryPolicy.newBuilder()
        .setMaxAttempts(r.maxAttempts())
        .setInitialBackoff(toWire(r.initialBackoff()))
        .setBackoffMultiplier(r.backoffMultiplier())
        .setMaxBackoff(toWire(r.maxBackoff()))
        .build();
  }

  // ---- workers ---------------------------------------------------------------------------

  public static io.hodei.core.worker.WorkerInfo toDomain(io.hodei.api.v1.WorkerInfo w) {
    return new io.hodei.core.worker.WorkerInfo(
        new io.hodei.core.worker.WorkerId(w.getWorkerId()),
        w.getName(),
        w.getVersion(),
        w.getHostname(),
        w.getIpAddress(),
        toDomain(w.getCapacity()),
        new java.util.HashSet<>(w.getCapabilitiesList()),
        w.getLabelsMap(),
        w.getTaintsList().stream()
            .map(
                t ->
                    new io.hodei.core.worker.Taint(
                        t.getKey(), t.getValue(), toDomain(t.getEffect())))
            .toList());
  }

  public static io.hodei.api.v1.WorkerInfo toWire(io.hodei.core.worker.WorkerInfo w) {
    return io.hodei.api.v1.WorkerInfo.newBuilder()
        .setWorkerId(w.id().value())
        .setName(w.name())
        .setVersion(w.version())
        .setHostname(w.hostname())
        .setIpAddress(w.ipAddress())
        .setCapacity(toWire(w.capacity()))
        .addAllCapabilities(w.capabilities().stream().sorted().toList())
        .putAllLabels(w.labels())
        .addAllTaints(
            w.taints().stream()
                .map(
                    t ->
                        io.hodei.api.v1.Taint.newBuilder()
                            .setKey(t.key())
                            .setValue(t.value())
                            .setEffect(toWire(t.effect()))
                            .build())
                .toList())
        .build();
  }

  // ---- scalars ---------------------------------------------------------------------------

  public static java.time.Duration toDomain(Duration d) {
    return java.time.Duration.ofSeconds(d.getSeconds(), d.getNanos());
  }

  public static Duration toWire(java.time.Duration d) {
    return Duration.newBuilder().setSeconds(d.getSeconds()).setNanos(d.getNano()).build();
  }

  public static Timestamp toWire(Instant i) {
    return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
  }

  public static Instant toDomain(Timestamp t) {
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
  }

  public static io.hodei.api.v1.JobState toWire(JobState s) {
    return switch (s) {
      case PENDING -> io.hodei.api.v1.JobState.JOB_STATE_PENDING;
      case SCHEDULED -> io.hodei.api.v1.JobState.JOB_STATE_SCHEDULED;
      case RUNNING -> io.hodei.api.v1.JobState.JOB_STATE_RUNNING;
      case SUCCEEDED -> io.hodei.api.v1.JobState.JOB_STATE_SUCCEEDED;
      case FAILED -> io.hodei.api.v1.JobState.JOB_STATE_FAILED;
      case CANCELLED -> io.hodei.api.v1.JobState.JOB_STATE_CANCELLED;
      case TIMEOUT -> io.hodei.api.v1.JobState.JOB_STATE_TIMEOUT;
    };
  }

  /** Empty for {@code JOB_STATE_UNSPECIFIED} and unknown values. */
  public static Optional<JobState> toDomain(io.hodei.api.v1.JobState s) {
    return switch (s) {
      case JOB_STATE_PENDING -> Optional.of(JobState.PENDING);
      case JOB_STATE_SCHEDULED -> Optional.of(JobState.SCHEDULED);
      case JOB_STATE_RUNNING -> Optional.of(JobState.RUNNING);
      case JOB_STATE_SUCCEEDED -> Optional.of(JobState.SUCCEEDED);
      case JOB_STATE_FAILED -> Optional.of(JobState.FAILED);
      case JOB_STATE_CANCELLED -> Optional.of(JobState.CANCELLED);
      case JOB_STATE_TIMEOUT -> Optional.of(JobState.TIMEOUT);
      default -> Optional.empty();
    };
  }

  private static boolean isZero(Duration d) {
    return d.getSeconds() == 0 && d.getNanos() == 0;
  }
}
