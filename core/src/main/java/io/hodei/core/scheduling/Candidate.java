package io.hodei.core.scheduling;

import io.hodei.core.job.Resources;
import io.hodei.core.worker.Taint;
import io.hodei.core.worker.WorkerId;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A worker as the scheduler sees it: what it offers and what it already carries. A capacity of 0
 * in a dimension means the worker did not state it; requests in that dimension then always fit.
 *
 * @param allocated the sum of the requests of the jobs it runs
 */
public record Candidate(
    WorkerId id,
    String provider,
    Map<String, String> labels,
    List<Taint> taints,
    Set<String> capabilities,
    Resources capacity,
    Resources allocated,
    int runningJobs) {

  public Candidate {
    labels = Map.copyOf(labels);
    taints = List.copyOf(taints);
    capabilities = Set.copyOf(capabilities);
  }

  /** Free cpu cores, or infinity when the capacity is not stated. */
  double freeCpu() {
    return capacity.cpuCores() <= 0 ? Double.POSITIVE_INFINITY : capacity.cpuCores() - allocated.cpuCores();
  }

  long freeMemory() {
    return capacity.memoryBytes() <= 0 ? Long.MAX_VALUE : capacity.memoryBytes() - allocated.memoryBytes();
  }
}
