package io.hodei.core.provider;

import io.hodei.core.job.LabelRequirement;
import io.hodei.core.job.Resources;
import io.hodei.core.job.Toleration;
import java.util.List;
import java.util.Objects;

/**
 * What the job a worker is started for asks of it: a provider that sizes each worker (a
 * Kubernetes pod, a microVM) makes it fit, within its admin's maximums. A provider whose workers
 * are all alike ignores it.
 *
 * @param resources the job's cpu, memory, disk and gpu; zero in a dimension means "not stated"
 * @param tolerations the job's tolerations
 * @param labelSelector the job's label requirements, some of which a provider may place by (a
 *     node selector, say)
 */
public record WorkerDemand(Resources resources, List<Toleration> tolerations, List<LabelRequirement> labelSelector) {
  public WorkerDemand {
    Objects.requireNonNull(resources, "resources");
    tolerations = List.copyOf(tolerations);
    labelSelector = List.copyOf(labelSelector);
  }

  /** What {@code spec} asks. */
  public static WorkerDemand of(io.hodei.core.job.JobSpec spec) {
    return new WorkerDemand(spec.resources(), spec.constraints().tolerations(), spec.constraints().labelSelector());
  }
}
