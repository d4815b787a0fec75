package io.hodei.core.job;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Everything the user said about a job, as queued. Immutable; validated by {@link
 * JobSpecValidator} before a job is created from it. Of the job's secrets it holds only the
 * names: the values live in a {@link io.hodei.core.secret.SecretVault}, never in a spec.
 */
public record JobSpec(
    String name,
    CommandSpec command,
    Map<String, String> env,
    Optional<String> workingDir,
    Resources resources,
    Constraints constraints,
    Optional<Duration> timeout,
    RetryPolicy retryPolicy,
    Map<String, String> labels,
    java.util.SortedSet<String> secretNames,
    LogPolicy logPolicy) {

  public JobSpec {
    env = java.util.Collections.unmodifiableMap(new TreeMap<>(env));
    labels = java.util.Collections.unmodifiableMap(new TreeMap<>(labels));
    secretNames = java.util.Collections.unmodifiableSortedSet(new java.util.TreeSet<>(secretNames));
    logPolicy = logPolicy == null ? LogPolicy.LOSSLESS : logPolicy;
  }

  /** A spec without secrets, with lossless logs. */
  public JobSpec(
      String name,
      CommandSpec command,
      Map<String, String> env,
      Optional<String> workingDir,
      Resources resources,
      Constraints constraints,
      Optional<Duration> timeout,
      RetryPolicy retryPolicy,
      Map<String, String> labels) {
    this(name, command, env, workingDir, resources, constraints, timeout, retryPolicy, labels,
        new java.util.TreeSet<>(), LogPolicy.LOSSLESS);
  }

  public JobSpec withSecretNames(java.util.Set<String> names) {
    return new JobSpec(name, command, env, workingDir, resources, constraints, timeout, retryPolicy, labels,
        new java.util.TreeSet<>(names), logPolicy);
  }

  public JobSpec withLogPolicy(LogPolicy policy) {
    return new JobSpec(name, command, env, workingDir, resources, constraints, timeout, retryPolicy, labels,
        secretNames, policy);
  }

  /** A spec with defaults for everything but the command; tests and the CLI build on it. */
  public static JobSpec of(String name, CommandSpec command) {
    return new JobSpec(
        name,
        command,
        Map.of(),
        Optional.empty(),
        Resources.NONE,
        Constraints.NONE,
        Optional.empty(),
        RetryPolicy.NONE,
        Map.of());
  }

  public JobSpec withEnv(Map<String, String> newEnv) {
    return new JobSpec(
        name, command, newEnv, workingDir, resources, constraints, timeout, retryPolicy, labels,
        secretNames, logPolicy);
  }

  public JobSpec withTimeout(Duration newTimeout) {
    return new JobSpec(
        name,
        command,
        env,
        workingDir,
        resources,
        constraints,
        Optional.of(newTimeout),
        retryPolicy,
        labels,
        secretNames,
        logPolicy);
  }

  public JobSpec withLabels(Map<String, String> newLabels) {
    return new JobSpec(name, command, env, workingDir, resources, constraints, timeout, retryPolicy, newLabels, secretNames, logPolicy);
  }

  public JobSpec withResources(Resources newResources) {
    return new JobSpec(name, command, env, workingDir, newResources, constraints, timeout, retryPolicy, labels, secretNames, logPolicy);
  }

  public JobSpec withConstraints(Constraints newConstraints) {
    return new JobSpec(name, command, env, workingDir, resources, newConstraints, timeout, retryPolicy, labels, secretNames, logPolicy);
  }
}
