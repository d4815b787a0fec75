package io.hodei.core.job;

import io.hodei.core.error.InvalidSpecException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Decides whether a {@link JobSpec} can be queued. The first problem found is reported as an
 * {@link InvalidSpecException} naming the field as the API spells it ({@code definition.*}).
 */
public final class JobSpecValidator {

  /** Interpreters a script job may name. Each is looked up on the worker's PATH. */
  public static final Set<String> INTERPRETERS =
      Set.of("bash", "sh", "dash", "zsh", "python3", "python", "node", "perl", "ruby");

  static final int MAX_NAME_LENGTH = 255;
  static final int MAX_ATTEMPTS = 100;
  private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final String P = "definition.";

  private JobSpecValidator() {}

  /** As {@link #validate(JobSpec, SpecLimits)} with the default limits. */
  public static JobSpec validate(JobSpec spec) {
    return validate(spec, SpecLimits.DEFAULTS);
  }

  /** Checks {@code spec} against the rules and {@code limits}; returns it when it passes. */
  public static JobSpec validate(JobSpec spec, SpecLimits limits) {
    if (spec.name() != null && spec.name().length() > MAX_NAME_LENGTH) {
      throw invalid("name", "must be at most " + MAX_NAME_LENGTH + " characters");
    }
    switch (spec.command()) {
      case null -> throw invalid("command", "is required: give a shell command or a script");
      case CommandSpec.Shell shell -> {
        if (shell.cmd() == null || shell.cmd().isBlank()) {
          throw invalid("command.shell.cmd", "must not be empty");
        }
        noNul("command.shell.cmd", shell.cmd());
        shell.args().forEach(arg -> noNul("command.shell.args", arg));
        long bytes = utf8Length(shell.cmd());
        for (String arg : shell.args()) {
          bytes += utf8Length(arg) + 1;
        }
        if (bytes > limits.scriptBytes()) {
          throw invalid("command.shell", "the command and its arguments have " + bytes + " bytes; at most " + limits.scriptBytes());
        }
      }
      case CommandSpec.Script script -> {
        if (script.interpreter() == null || script.interpreter().isBlank()) {
          throw invalid("command.script.interpreter", "must not be empty");
        }
        if (!INTERPRETERS.contains(script.interpreter())) {
          throw invalid(
              "command.script.interpreter",
              "unknown interpreter '"
                  + script.interpreter()
                  + "'; known: "
                  + INTERPRETERS.stream().sorted().toList());
        }
        if (script.content() == null || script.content().isBlank()) {
          throw invalid("command.script.content", "must not be empty");
        }
        long bytes = utf8Length(script.content());
        if (bytes > limits.scriptBytes()) {
          throw invalid("command.script.content", "has " + bytes + " bytes; at most " + limits.scriptBytes());
        }
      }
    }
    validateEnv(spec.env(), limits);
    spec.workingDir()
        .ifPresent(
            dir -> {
              if (!dir.startsWith("/")) {
                throw invalid("working_dir", "must be an absolute path, got '" + dir + "'");
              }
              noNul("working_dir", dir);
            });
    validateResources(spec.resources());
    spec.timeout()
        .ifPresent(
            timeout -> {
              if (timeout.isNegative()) {
                throw invalid("timeout", "must not be negative, got " + io.hodei.core.DurationText.format(timeout));
              }
              if (timeout.compareTo(MAX_TIMEOUT) > 0) {
                throw invalid("timeout", "must be at most " + MAX_TIMEOUT.toDays() + " days");
              }
            });
    validateRetry(spec.retryPolicy());
    spec.constraints()
        .strategy()
        .ifPresent(
            name -> {
              if (io.hodei.core.scheduling.Strategy.parse(name).isEmpty()) {
                throw invalid(
                    "constraints.strategy",
                    "unknown strategy '" + name + "'; known: " + io.hodei.core.scheduling.Strategy.names());
              }
            });
    validateLabels(spec.labels(), limits);
    validateConstraints(spec.constraints(), limits);
    return spec;
  }

  /** Shortest secret value accepted: shorter ones cannot be redacted without masking ordinary text. */
  public static final int MIN_SECRET_LENGTH = 8;
  /** Longest secret value accepted, in UTF-8 bytes. */
  public static final int MAX_SECRET_BYTES = 64 * 1024;
  /** Most secrets per job. */
  public static final int MAX_SECRETS = 100;
  /**
   * Most bytes of all of a job's secret values together: each value becomes a dozen or so
   * redaction patterns on the worker, whose memory must stay small whatever a user sends.
   */
  public static final int MAX_TOTAL_SECRET_BYTES = 64 * 1024;

  /**
   * Checks the secrets a job is queued with: names like environment variables, values of {@value
   * #MIN_SECRET_LENGTH} characters or more (and at most {@value #MAX_SECRET_BYTES} bytes). The
   * message names the secret but never shows its value.
   */
  public static Map<String, String> validateSecrets(Map<String, String> secrets) {
    if (secrets.size() > MAX_SECRETS) {
      throw invalid("secrets", "at most " + MAX_SECRETS + " secrets per job, got " + secrets.size());
    }
    secrets.forEach(
        (name, value) -> {
          if (!ENV_NAME.matcher(name).matches()) {
            throw invalid("secrets", "'" + name + "' is not a valid secret name (letters, digits and _, not starting with a digit)");
          }
          int length = value.codePointCount(0, value.length());
          if (length < MIN_SECRET_LENGTH) {
            throw invalid(
                "secrets." + name,
                "the value has " + length + " characters; a secret needs at least " + MIN_SECRET_LENGTH
                    + ", because a shorter one cannot be redacted from the job's output without masking ordinary text");
          }
          if (value.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_SECRET_BYTES) {
            throw invalid("secrets." + name, "the value is larger than " + MAX_SECRET_BYTES / 1024 + " KiB");
          }
          if (value.indexOf('\0') >= 0) {
            throw invalid("secrets." + name, "the value must not contain NUL characters");
          }
        });
    long total = secrets.values().stream().mapToLong(v -> v.getBytes(java.nio.charset.StandardCharsets.UTF_8).length).sum();
    if (total > MAX_TOTAL_SECRET_BYTES) {
      throw invalid("secrets", "the values add up to " + total + " bytes; at most " + MAX_TOTAL_SECRET_BYTES / 1024 + " KiB per job");
    }
    return secrets;
  }

  /** The longest timeout a job may ask for. */
  static final Duration MAX_TIMEOUT = Duration.ofDays(30);

  private static void validateLabels(Map<String, String> labels, SpecLimits limits) {
    if (labels.size() > limits.labels()) {
      throw invalid("labels", "at most " + limits.labels() + " labels per job, got " + labels.size());
    }
    long bytes = 0;
    for (var label : labels.entrySet()) {
      if (label.getKey().isBlank()) {
        throw invalid("labels", "label keys must not be empty");
      }
      bytes += utf8Length(label.getKey()) + utf8Length(label.getValue());
    }
    if (bytes > limits.labelBytes()) {
      throw invalid("labels", "the keys and values have " + bytes + " bytes; at most " + limits.labelBytes());
    }
  }

  private static void validateConstraints(Constraints c, SpecLimits limits) {
    if (c.priority() > limits.maxPriority() || c.priority() < -limits.maxPriority()) {
      throw invalid("constraints.priority", "must be between " + -limits.maxPriority() + " and " + limits.maxPriority() + ", got " + c.priority());
    }
    int most = limits.constraintEntries();
    if (c.labelSelector().size() > most) {
      throw invalid("constraints.label_selector", "at most " + most + " requirements, got " + c.labelSelector().size());
    }
    for (LabelRequirement r : c.labelSelector()) {
      if (r.values().size() > most) {
        throw invalid("constraints.label_selector.values", "at most " + most + " values per requirement, got " + r.values().size());
      }
    }
    if (c.tolerations().size() > most) {
      throw invalid("constraints.tolerations", "at most " + most + " tolerations, got " + c.tolerations().size());
    }
    if (c.requiredCapabilities().size() > most) {
      throw invalid("constraints.required_capabilities", "at most " + most + " capabilities, got " + c.requiredCapabilities().size());
    }
  }

  private static long utf8Length(String s) {
    if (s == null) {
      return 0;
    }
    long bytes = 0;
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      if (ch < 0x80) {
        bytes++;
      } else if (ch < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(ch)) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }

  private static void validateEnv(Map<String, String> env, SpecLimits limits) {
    if (env.size() > limits.envVars()) {
      throw invalid("env", "at most " + limits.envVars() + " variables per job, got " + env.size());
    }
    long bytes = 0;
    for (var e : env.entrySet()) {
      bytes += utf8Length(e.getKey()) + utf8Length(e.getValue());
    }
    if (bytes > limits.envBytes()) {
      throw invalid("env", "the names and values have " + bytes + " bytes; at most " + limits.envBytes());
    }
    env.forEach(
        (name, value) -> {
          if (!ENV_NAME.matcher(name).matches()) {
            throw invalid("env", "'" + name + "' is not a valid environment variable name");
          }
          noNul("env." + name, value);
        });
  }

  private static void validateResources(Resources r) {
    if (!Double.isFinite(r.cpuCores())) {
      throw invalid("resources.cpu_cores", "must be a finite number, got " + r.cpuCores());
    }
    if (r.cpuCores() < 0) {
      throw invalid("resources.cpu_cores", "must not be negative");
    }
    if (r.memoryBytes() < 0) {
      throw invalid("resources.memory_bytes", "must not be negative");
    }
    if (r.diskBytes() < 0) {
      throw invalid("resources.disk_bytes", "must not be negative");
    }
    if (r.gpu() < 0) {
      throw invalid("resources.gpu", "must not be negative");
    }
  }

  private static void validateRetry(RetryPolicy retry) {
    if (retry.maxAttempts() < 1 || retry.maxAttempts() > MAX_ATTEMPTS) {
      throw invalid("retry_policy.max_attempts", "must be between 1 and " + MAX_ATTEMPTS);
    }
    for (var entry :
        List.of(
            Map.entry("retry_policy.initial_backoff", retry.initialBackoff()),
            Map.entry("retry_policy.max_backoff", retry.maxBackoff()))) {
      Duration d = entry.getValue();
      if (d.isNegative()) {
        throw invalid(entry.getKey(), "must not be negative");
      }
    }
    if (!(retry.backoffMultiplier() >= 1.0)) {
      throw invalid("retry_policy.backoff_multiplier", "must be at least 1.0");
    }
  }

  private static void noNul(String field, String value) {
    if (value != null && value.indexOf('\0') >= 0) {
      throw invalid(field, "must not contain NUL characters");
    }
  }

  private static InvalidSpecException invalid(String field, String problem) {
    return new InvalidSpecException(P + field, problem);
  }
}
