package io.hodei.core.scheduling;

import io.hodei.core.job.JobSpec;
import io.hodei.core.job.LabelRequirement;
import io.hodei.core.job.Resources;
import io.hodei.core.job.Toleration;
import io.hodei.core.worker.Taint;
import io.hodei.core.worker.TaintEffect;
import java.util.Locale;
import java.util.Optional;

/** The hard constraints of a job against one worker. Pure functions. */
final class Fit {
  private Fit() {}

  /** Empty if {@code spec} may run on {@code worker}; otherwise the first reason it may not. */
  static Optional<String> check(JobSpec spec, Candidate worker) {
    for (Taint taint : worker.taints()) {
      if (taint.effect() == TaintEffect.NO_SCHEDULE && !tolerated(taint, spec)) {
        return Optional.of(
            "taint " + taint.key() + (taint.value().isEmpty() ? "" : "=" + taint.value()) + ":NoSchedule not tolerated");
      }
    }
    for (LabelRequirement requirement : spec.constraints().labelSelector()) {
      if (!satisfies(requirement, worker)) {
        String actual = worker.labels().get(requirement.key());
        return Optional.of(
            "label selector " + describe(requirement) + " not met ("
                + (actual == null ? "no " + requirement.key() + " label" : requirement.key() + "=" + actual)
                + ")");
      }
    }
    for (String capability : spec.constraints().requiredCapabilities().stream().sorted().toList()) {
      if (!worker.capabilities().contains(capability)) {
        return Optional.of("lacks capability " + capability);
      }
    }
    return resources(spec.resources(), worker);
  }

  static boolean tolerated(Taint taint, JobSpec spec) {
    for (Toleration t : spec.constraints().tolerations()) {
      boolean keyMatches = t.key().equals(taint.key());
      boolean valueMatches = t.exists() || t.value().equals(taint.value());
      if (keyMatches && valueMatches && t.effect() == taint.effect()) {
        return true;
      }
    }
    return false;
  }

  static boolean satisfies(LabelRequirement r, Candidate worker) {
    String value = worker.labels().get(r.key());
    return switch (r.operator()) {
      case EQUALS -> value != null && r.values().contains(value);
      case IN -> value != null && r.values().contains(value);
      case NOT_IN -> value == null || !r.values().contains(value);
      case EXISTS -> value != null;
      case DOES_NOT_EXIST -> value == null;
    };
  }

  static String describe(LabelRequirement r) {
    return switch (r.operator()) {
      case EQUALS -> r.key() + "=" + String.join(",", r.values());
      case IN -> r.key() + " in (" + String.join(",", r.values()) + ")";
      case NOT_IN -> r.key() + " notin (" + String.join(",", r.values()) + ")";
      case EXISTS -> r.key();
      case DOES_NOT_EXIST -> "!" + r.key();
    };
  }

  private static Optional<String> resources(Resources wanted, Candidate worker) {
    Resources cap = worker.capacity();
    Resources used = worker.allocated();
    if (wanted.cpuCores() > 0 && cap.cpuCores() > 0 && wanted.cpuCores() > cap.cpuCores() - used.cpuCores()) {
      return Optional.of(
          String.format(Locale.ROOT, "needs %.2f cpu, %.2f of %.2f free", wanted.cpuCores(), cap.cpuCores() - used.cpuCores(), cap.cpuCores()));
    }
    if (wanted.memoryBytes() > 0 && cap.memoryBytes() > 0 && wanted.memoryBytes() > cap.memoryBytes() - used.memoryBytes()) {
      return Optional.of(
          "needs " + mib(wanted.memoryBytes()) + " memory, " + mib(cap.memoryBytes() - used.memoryBytes()) + " of " + mib(cap.memoryBytes()) + " free");
    }
    if (wanted.diskBytes() > 0 && cap.diskBytes() > 0 && wanted.diskBytes() > cap.diskBytes() - used.diskBytes()) {
      return Optional.of("needs " + mib(wanted.diskBytes()) + " disk, " + mib(cap.diskBytes() - used.diskBytes()) + " free");
    }
    if (wanted.gpu() > 0 && wanted.gpu() > cap.gpu() - used.gpu()) {
      return Optional.of("needs " + wanted.gpu() + " gpu, " + Math.max(0, cap.gpu() - used.gpu()) + " free");
    }
    return Optional.empty();
  }

  private static String mib(long bytes) {
    return (bytes >> 20) + " MiB";
  }
}
