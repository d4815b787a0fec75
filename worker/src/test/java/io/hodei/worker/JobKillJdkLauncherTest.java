package io.hodei.worker;

import java.util.Map;

/** Every case of {@link JobKillTest} again, with jobs started through {@link ProcessBuilder} and {@code setsid}. */
class JobKillJdkLauncherTest extends JobKillTest {
  @Override
  Map<String, String> launcherEnvironment() {
    return Map.of(WorkerAgent.ENV_PROCESS_LAUNCHER, "jdk", JobSandbox.ENV_ISOLATION, "off");
  }
}
