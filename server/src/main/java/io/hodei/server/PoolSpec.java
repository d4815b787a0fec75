package io.hodei.server;

import io.hodei.provider.docker.DockerWorkerProvider;
import io.hodei.server.provisioning.PoolPolicy;
import io.hodei.server.provisioning.Provisioner;
import java.util.Map;

/**
 * A pool of workers as the command line and the configuration file describe it; {@link
 * ControlPlane} builds its provider.
 */
public sealed interface PoolSpec {
  String name();

  PoolPolicy policy();

  /** Labels every worker of the pool carries. */
  Map<String, String> labels();

  /** Workers as child processes of this control plane. */
  record Local(String name, PoolPolicy policy, Map<String, String> labels) implements PoolSpec {}

  /**
   * Workers as containers on a Docker engine. {@code docker.name()} must equal {@code name}; its
   * worker environment is completed with the control plane's.
   */
  record Docker(String name, PoolPolicy policy, Map<String, String> labels, DockerWorkerProvider.Config docker)
      implements PoolSpec {
    public Docker {
      if (!docker.name().equals(name)) {
        throw new IllegalArgumentException("docker pool " + name + " has a provider named " + docker.name());
      }
    }
  }

  /**
   * A pool whose provider the caller built (a benchmark's simulated workers, say), taken as it is:
   * the control plane adds no environment to its workers, and closes its provider when it closes.
   */
  record Custom(Provisioner.Pool pool) implements PoolSpec {
    @Override
    public String name() {
      return pool.name();
    }

    @Override
    public PoolPolicy policy() {
      return pool.policy();
    }

    @Override
    public Map<String, String> labels() {
      return pool.profile().labels();
    }
  }
}
