package io.hodei.store;

import io.hodei.core.job.CommandSpec;
import io.hodei.core.job.Constraints;
import io.hodei.core.job.Job;
import io.hodei.core.job.JobId;
import io.hodei.core.job.JobSpec;
import io.hodei.core.job.LabelRequirement;
import io.hodei.core.job.Resources;
import io.hodei.core.job.RetryPolicy;
import io.hodei.core.job.Toleration;
import io.hodei.core.worker.TaintEffect;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Job fixtures. Instants are whole milliseconds, the precision the store keeps. */
final class TestJobs {
  static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");

  private TestJobs() {}

  /** A spec with every field set, running a program directly. */
  static JobSpec everyFieldSet() {
    return new JobSpec(
        "nightly-build",
        new CommandSpec.Shell("make", List.of("-j4", "all", "with space", "ünïcødé")),
        Map.of("CI", "true", "PATH", "/usr/local/bin:/usr/bin", "QUOTE", "say \"hi\"\n"),
        Optional.of("/srv/build"),
        new Resources(1.5, 512L << 20, 10L << 30, 1),
        new Constraints(
            List.of(
                new LabelRequirement("zone", LabelRequirement.Operator.IN, List.of("a", "b")),
                new LabelRequirement("arch", LabelRequirement.Operator.EQUALS, List.of("arm64")),
                new LabelRequirement("gpu", LabelRequirement.Operator.EXISTS, List.of()),
                new LabelRequirement("spot", LabelRequirement.Operator.DOES_NOT_EXIST, List.of()),
                new LabelRequirement("os", LabelRequirement.Operator.NOT_IN, List.of("windows"))),
            List.of(
                new Toleration("dedicated", "ci", false, TaintEffect.NO_SCHEDULE),
                new Toleration("flaky", "", true, TaintEffect.PREFER_NO_SCHEDULE)),
            Optional.of("local"),
            7,
            java.util.Set.of("shell", "docker"),
            Optional.of("eu-west-1a"),
            Optional.of("eu-west-1"),
            Optional.of("bin-pack")),
        Optional.of(Duration.ofMinutes(30)),
        new RetryPolicy(3, Duration.ofSeconds(2), 1.5, Duration.ofMinutes(1)),
        Map.of("team", "infra", "env", "prod"));
  }

  static JobSpec script() {
    return new JobSpec(
        "report",
        new CommandSpec.Script("bash", "#!/bin/bash\nset -eu\necho \"$HOME\" | tr a-z A-Z\n"),
        Map.of("LANG", "C.UTF-8"),
        Optional.empty(),
        Resources.NONE,
        Constraints.NONE,
        Optional.empty(),
        RetryPolicy.NONE,
        Map.of());
  }

  static JobSpec named(String name) {
    return JobSpec.of(name, new CommandSpec.Shell("true", List.of()));
  }

  static JobSpec withPriority(String name, int priority) {
    JobSpec base = named(name);
    return new JobSpec(
        base.name(),
        base.command(),
        base.env(),
        base.workingDir(),
        base.resources(),
        Constraints.NONE.withPriority(priority),
        base.timeout(),
        base.retryPolicy(),
        base.labels());
  }

  static JobSpec withLabels(String name, Map<String, String> labels) {
    JobSpec base = named(name);
    return new JobSpec(
        base.name(),
        base.command(),
        base.env(),
        base.workingDir(),
        base.resources(),
        base.constraints(),
        base.timeout(),
        base.retryPolicy(),
        labels);
  }

  /** A spec that may run {@code maxAttempts} times in all, with a one-second backoff. */
  static JobSpec retrying(String name, int maxAttempts) {
    JobSpec base = named(name);
    return new JobSpec(
        base.name(),
        base.command(),
        base.env(),
        base.workingDir(),
        base.resources(),
        base.constraints(),
        base.timeout(),
        new RetryPolicy(maxAttempts, Duration.ofSeconds(1), 2.0, Duration.ofMinutes(1)),
        base.labels());
  }

  static Job queued(JobSpec spec, Instant createdAt) {
    return Job.queued(JobId.random(), spec, createdAt);
  }

  static Job queued(String id, JobSpec spec, Instant createdAt) {
    return Job.queued(new JobId(id), spec, createdAt);
  }
}
