package io.hodei.cli;

import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.JobConstraints;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.LabelRequirement;
import io.hodei.api.v1.ResourceSpec;
import io.hodei.api.v1.RetryPolicy;
import io.hodei.api.v1.ScriptCommand;
import io.hodei.api.v1.SelectorOperator;
import io.hodei.api.v1.ShellCommand;
import io.hodei.api.v1.TaintEffect;
import io.hodei.api.v1.Toleration;
import io.hodei.wire.WireMapping;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** What a job is and where it may run: the options {@code run} and {@code schedule} share. */
final class JobOptions {
  private static final Pattern SET_EXPRESSION =
      Pattern.compile("\\s*([^\\s!=]+)\\s+(in|notin)\\s*\\(([^)]*)\\)\\s*", Pattern.CASE_INSENSITIVE);
  private static final Pattern QUANTITY = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([KMGT]i?)?[bB]?");

  @Option(names = "--name", description = "Job name (default: the command).")
  String name;

  @Option(names = "--env", paramLabel = "K=V", description = "Environment variable for the job; repeatable.")
  Map<String, String> env = new LinkedHashMap<>();

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      description = "Stop the job after this long (e.g. 30s, 5m).",
      converter = Durations.Converter.class)
  Duration timeout;

  @Option(names = "--retries", paramLabel = "N", description = "Retry a failed or timed-out job up to N more times (default: 0).", defaultValue = "0")
  int retries;

  @Option(
      names = "--retry-backoff",
      paramLabel = "DURATION",
      description = "Wait before the first retry, doubling each time, with jitter (default: ${DEFAULT-VALUE}).",
      defaultValue = "1s",
      converter = Durations.Converter.class)
  Duration retryBackoff;

  @Option(names = "--label", paramLabel = "K=V", description = "Label for the job; repeatable.")
  Map<String, String> labels = new LinkedHashMap<>();

  @Option(names = "--workdir", paramLabel = "DIR", description = "Working directory on the worker (absolute).")
  String workingDir;

  @Option(names = "--script", paramLabel = "FILE", description = "Run this script file instead of a command.")
  Path script;

  @Option(names = "--interpreter", description = "Interpreter for --script (default: ${DEFAULT-VALUE}).", defaultValue = "bash")
  String interpreter;

  @Option(
      names = "--selector",
      paramLabel = "EXPR",
      description = "Worker label requirement; repeatable: K=V, 'K in (a,b)', 'K notin (a,b)', K (exists), !K (absent).")
  List<String> selectors = new ArrayList<>();

  @Option(names = "--toleration", paramLabel = "K=V:EFFECT", description = "Tolerate a taint; repeatable: K=V:NoSchedule, K:NoSchedule (any value), or PreferNoSchedule.")
  List<String> tolerations = new ArrayList<>();

  @Option(names = "--cpu", paramLabel = "CORES", description = "CPU cores the job needs (e.g. 0.5, 2).")
  double cpu;

  @Option(names = "--memory", paramLabel = "SIZE", description = "Memory the job needs (e.g. 512Mi, 2Gi).")
  String memory;

  @Option(names = "--gpu", paramLabel = "N", description = "GPUs the job needs.")
  int gpu;

  @Option(names = "--capability", paramLabel = "C", description = "Capability the worker must offer (e.g. shell, docker); repeatable.")
  List<String> capabilities = new ArrayList<>();

  @Option(names = "--provider", paramLabel = "NAME", description = "Preferred provider (soft).")
  String provider;

  @Option(names = "--priority", paramLabel = "N", description = "Higher runs first (default: 0).", defaultValue = "0")
  int priority;

  @Option(names = "--strategy", paramLabel = "NAME", description = "round-robin, least-connections, bin-pack, spread or affinity.")
  String strategy;

  @Option(
      names = "--secret",
      paramLabel = "NAME[=VALUE|=@FILE]",
      description = {
        "Secret for the job, repeatable: the job reads all of them as one JSON object on stdin, and their values are"
            + " redacted from its output. NAME=@FILE reads the value from a file (one trailing newline dropped);"
            + " NAME alone takes it from this shell's environment variable NAME, which keeps it out of the process list."
      })
  List<String> secrets = new ArrayList<>();

  @Option(
      names = "--no-safety-header",
      description = "Run a bash or sh --script without the `set -euo pipefail` (bash) or `set -eu` (sh) header.")
  boolean noSafetyHeader;

  @Option(
      names = "--log-policy",
      paramLabel = "POLICY",
      description = "lossless (default: a job that writes faster than its output is taken waits) or drop (lines that do not fit are dropped and counted).")
  String logPolicy;

  @Parameters(paramLabel = "CMD", description = "The program and its arguments, after --.")
  List<String> command = new ArrayList<>();

  JobDefinition definition() {
    var b =
        JobDefinition.newBuilder()
            .setName(name != null ? name : defaultName())
            .setCommand(command())
            .putAllEnv(env)
            .putAllLabels(labels)
            .setResources(resources())
            .setConstraints(constraints());
    if (retries < 0) {
      throw new HodeiCli.UserError("--retries must not be negative", 64);
    }
    if (retries > 0) {
      b.setRetryPolicy(
          RetryPolicy.newBuilder()
              .setMaxAttempts(retries + 1)
              .setInitialBackoff(WireMapping.toWire(retryBackoff))
              .setBackoffMultiplier(2.0)
              .setMaxBackoff(WireMapping.toWire(Duration.ofMinutes(10))));
    }
    if (timeout != null) {
      b.setTimeout(WireMapping.toWire(timeout));
    }
    if (workingDir != null) {
      b.setWorkingDir(workingDir);
    }
    b.putAllSecrets(secretValues(System.getenv()));
    if (logPolicy != null) {
      b.setLogPolicy(
          switch (logPolicy.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "lossless" -> io.hodei.api.v1.LogPolicy.LOG_POLICY_LOSSLESS;
            case "drop" -> io.hodei.api.v1.LogPolicy.LOG_POLICY_DROP;
            default -> throw new HodeiCli.UserError("--log-policy '" + logPolicy + "': use lossless or drop", 64);
          });
    }
    return b.build();
  }

  /** The values of {@code --secret}: given inline, read from a file, or taken from the environment. */
  java.util.Map<String, String> secretValues(java.util.Map<String, String> environment) {
    var values = new java.util.LinkedHashMap<String, String>();
    for (String secret : secrets) {
      int eq = secret.indexOf('=');
      String name = (eq < 0 ? secret : secret.substring(0, eq)).strip();
      if (name.isEmpty()) {
        throw new HodeiCli.UserError("--secret '" + (eq < 0 ? secret : secret.substring(0, eq) + "=...") + "': the name is empty", 64);
      }
      String value;
      if (eq < 0) {
        value = environment.get(name);
        if (value == null) {
          throw new HodeiCli.UserError("--secret " + name + ": no environment variable " + name + " to take it from", 64);
        }
      } else if (secret.startsWith("@", eq + 1)) {
        Path file = Path.of(secret.substring(eq + 2));
        try {
          value = Files.readString(file);
        } catch (IOException e) {
          throw new HodeiCli.UserError("--secret " + name + ": cannot read " + file + ": " + e.getMessage(), 66);
        }
        value = value.endsWith("\r\n") ? value.substring(0, value.length() - 2)
            : value.endsWith("\n") ? value.substring(0, value.length() - 1) : value;
      } else {
        value = secret.substring(eq + 1);
      }
      if (values.put(name, value) != null) {
        throw new HodeiCli.UserError("--secret " + name + " is given twice", 64);
      }
    }
    return values;
  }

  private CommandSpec command() {
    if (script != null) {
      if (!command.isEmpty()) {
        throw new HodeiCli.UserError("give either --script FILE or a command after --, not both", 64);
      }
      try {
        return CommandSpec.newBuilder()
            .setScript(
                ScriptCommand.newBuilder()
                    .setInterpreter(interpreter)
                    .setContent(Files.readString(script))
                    .setNoSafetyHeader(noSafetyHeader))
            .build();
      } catch (IOException e) {
        throw new HodeiCli.UserError("cannot read script " + script + ": " + e.getMessage(), 66);
      }
    }
    if (command.isEmpty()) {
      throw new HodeiCli.UserError("nothing to run: give a command after -- or --script FILE", 64);
    }
    return CommandSpec.newBuilder()
        .setShell(ShellCommand.newBuilder().setCmd(command.getFirst()).addAllArgs(command.subList(1, command.size())))
        .build();
  }

  private ResourceSpec resources() {
    var r = ResourceSpec.newBuilder().setCpuCores(cpu).setGpu(gpu);
    if (memory != null) {
      r.setMemoryBytes(bytes(memory, "--memory"));
    }
    return r.build();
  }

  private JobConstraints constraints() {
    var c = JobConstraints.newBuilder().setPriority(priority).addAllRequiredCapabilities(capabilities);
    selectors.forEach(s -> c.addLabelSelector(selector(s)));
    tolerations.forEach(t -> c.addTolerations(toleration(t)));
    if (provider != null) {
      c.setPreferredProvider(provider);
    }
    if (strategy != null) {
      c.setStrategy(strategy);
    }
    return c.build();
  }

  static LabelRequirement selector(String text) {
    Matcher set = SET_EXPRESSION.matcher(text);
    if (set.matches()) {
      List<String> values =
          Arrays.stream(set.group(3).split(",")).map(String::strip).filter(v -> !v.isEmpty()).toList();
      return LabelRequirement.newBuilder()
          .setKey(set.group(1))
          .setOperator(
              set.group(2).equalsIgnoreCase("in")
                  ? SelectorOperator.SELECTOR_OPERATOR_IN
                  : SelectorOperator.SELECTOR_OPERATOR_NOT_IN)
          .addAllValues(values)
          .build();
    }
    String t = text.strip();
    if (t.contains("=")) {
      String[] kv = t.split("=", 2);
      if (kv[0].isBlank()) {
        throw new HodeiCli.UserError("--selector '" + text + "': the key is empty", 64);
      }
      return LabelRequirement.newBuilder()
          .setKey(kv[0].strip())
          .setOperator(SelectorOperator.SELECTOR_OPERATOR_EQUALS)
          .addValues(kv[1].strip())
          .build();
    }
    if (t.startsWith("!") && t.length() > 1) {
      return LabelRequirement.newBuilder()
          .setKey(t.substring(1))
          .setOperator(SelectorOperator.SELECTOR_OPERATOR_DOES_NOT_EXIST)
          .build();
    }
    if (t.matches("[\\w./-]+")) {
      return LabelRequirement.newBuilder().setKey(t).setOperator(SelectorOperator.SELECTOR_OPERATOR_EXISTS).build();
    }
    throw new HodeiCli.UserError(
        "--selector '" + text + "': use K=V, 'K in (a,b)', 'K notin (a,b)', K or !K", 64);
  }

  static Toleration toleration(String text) {
    int colon = text.lastIndexOf(':');
    if (colon <= 0) {
      throw new HodeiCli.UserError("--toleration '" + text + "': use K=V:NoSchedule or K:NoSchedule", 64);
    }
    String effect = text.substring(colon + 1).strip().toLowerCase(Locale.ROOT);
    TaintEffect e =
        switch (effect) {
          case "noschedule" -> TaintEffect.TAINT_EFFECT_NO_SCHEDULE;
          case "prefernoschedule" -> TaintEffect.TAINT_EFFECT_PREFER_NO_SCHEDULE;
          default ->
              throw new HodeiCli.UserError(
                  "--toleration '" + text + "': the effect must be NoSchedule or PreferNoSchedule", 64);
        };
    String keyValue = text.substring(0, colon);
    var b = Toleration.newBuilder().setEffect(e);
    if (keyValue.contains("=")) {
      String[] kv = keyValue.split("=", 2);
      return b.setKey(kv[0].strip()).setValue(kv[1].strip()).build();
    }
    return b.setKey(keyValue.strip()).setExists(true).build();
  }

  static long bytes(String text, String option) {
    Matcher m = QUANTITY.matcher(text.strip());
    if (!m.matches()) {
      throw new HodeiCli.UserError(option + " '" + text + "': use a size such as 512Mi, 2Gi or 1G", 64);
    }
    double n = Double.parseDouble(m.group(1));
    String unit = m.group(2) == null ? "" : m.group(2);
    long factor =
        switch (unit) {
          case "" -> 1L;
          case "K" -> 1000L;
          case "Ki" -> 1L << 10;
          case "M" -> 1000_000L;
          case "Mi" -> 1L << 20;
          case "G" -> 1000_000_000L;
          case "Gi" -> 1L << 30;
          case "T" -> 1000_000_000_000L;
          default -> 1L << 40;
        };
    return (long) (n * factor);
  }

  private String defaultName() {
    String base = script != null ? script.getFileName().toString() : String.join(" ", command);
    return base.length() > 80 ? base.substring(0, 80) : base;
  }
}
