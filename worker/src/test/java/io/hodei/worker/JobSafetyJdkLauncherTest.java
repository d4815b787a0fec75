package io.hodei.worker;

import java.util.Map;

/** Every case of {@link JobSafetyTest} again, with jobs started through {@link ProcessBuilder} and {@code setsid}. */
class JobSafetyJdkLauncherTest extends JobSafetyTest {
  @Override
  Map<String, String> launcherEnvironment() {
    return Map.of(WorkerAgent.ENV_PROCESS_LAUNCHER, "jdk");
  }
}
