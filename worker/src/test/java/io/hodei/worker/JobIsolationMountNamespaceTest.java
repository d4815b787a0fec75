package io.hodei.worker;

import java.util.Map;

/**
 * {@link JobIsolationTest} in the sandbox for where bwrap cannot run (a Docker container, whose
 * default seccomp profile refuses {@code pivot_root}): namespaces from {@code unshare}, mounts
 * from {@code mount}, the root entered with {@code chroot}. Forced here, on the host, where both
 * sandboxes can run.
 */
class JobIsolationMountNamespaceTest extends JobIsolationTest {
  @Override
  Map<String, String> sandboxSettings() {
    return Map.of(JobSandbox.ENV_SANDBOX, "mount-namespace");
  }

  @Override
  String sandboxInit() {
    return "sh";
  }
}
