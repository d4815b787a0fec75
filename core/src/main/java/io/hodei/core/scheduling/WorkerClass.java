package io.hodei.core.scheduling;

import io.hodei.core.job.Resources;
import io.hodei.core.worker.Taint;
import io.hodei.core.worker.WorkerId;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything the scheduler looks at in a worker except its id (a "computed class", as Nomad calls
 * it). Two free workers of the same class are interchangeable for every hard constraint, soft
 * preference and strategy, so {@link Scheduler} checks a job against a class once instead of
 * against each of its workers, and picks within a class by worker id alone.
 */
public record WorkerClass(
    String provider,
    Map<String, String> labels,
    List<Taint> taints,
    Set<String> capabilities,
    Resources capacity,
    Resources allocated,
    int runningJobs) {

  public WorkerClass {
    labels = Map.copyOf(labels);
    taints = List.copyOf(taints);
    capabilities = Set.copyOf(capabilities);
  }

  public static WorkerClass of(Candidate c) {
    return new WorkerClass(c.provider(), c.labels(), c.taints(), c.capabilities(), c.capacity(), c.allocated(), c.runningJobs());
  }

  /** The worker {@code id} of this class, as a candidate. */
  public Candidate candidate(String id) {
    return new Candidate(new WorkerId(id), provider, labels, taints, capabilities, capacity, allocated, runningJobs);
  }
}
