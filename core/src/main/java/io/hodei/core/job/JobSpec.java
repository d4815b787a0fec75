package io.hodei.core.job;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Everything the user said about a job, as queued. Immutable; validated by {@link
 * JobSpecValidator} before a job is created from it.
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
    Map<String, String> labels) {

  public JobSpec {
    env = java.util.Collections.unmodifiableMap(new TreeMap<>(env));
    labels = java.util.Collections.unmodifiableMap(new TreeMap<>(labels));
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
        name, command, newEnv, workingDir, resources, constraints, timeout, retryPolicy, labels);
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
        labels);
  }
}
