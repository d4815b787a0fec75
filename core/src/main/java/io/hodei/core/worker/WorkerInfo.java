package io.hodei.core.worker;

import io.hodei.core.job.Resources;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** What a worker says about itself when it registers. */
public record WorkerInfo(
    WorkerId id,
    String name,
    String version,
    String hostname,
    String ipAddress,
    Resources capacity,
    Set<String> capabilities,
    Map<String, String> labels,
    List<Taint> taints) {

  public WorkerInfo {
    capabilities = Set.copyOf(capabilities);
    labels = Map.copyOf(labels);
    taints = List.copyOf(taints);
  }
}
