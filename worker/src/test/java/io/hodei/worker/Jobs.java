package io.hodei.worker;

import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.RunJobCommand;
import io.hodei.api.v1.ScriptCommand;
import io.hodei.api.v1.ShellCommand;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** {@code run_job} commands for tests. */
final class Jobs {
  private Jobs() {}

  static RunJobCommand shell(String executionId, String cmd, String... args) {
    return RunJobCommand.newBuilder()
        .setJobId("job-" + executionId)
        .setExecutionId(executionId)
        .setAttempt(1)
        .setCommand(
            CommandSpec.newBuilder()
                .setShell(ShellCommand.newBuilder().setCmd(cmd).addAllArgs(List.of(args))))
        .build();
  }

  static RunJobCommand script(
      String executionId, String interpreter, String content, Map<String, String> env) {
    return RunJobCommand.newBuilder()
        .setJobId("job-" + executionId)
        .setExecutionId(executionId)
        .setAttempt(1)
        .setCommand(
            CommandSpec.newBuilder()
                .setScript(
                    ScriptCommand.newBuilder().setInterpreter(interpreter).setContent(content)))
        .putAllEnv(env)
        .build();
  }

  static RunJobCommand withTimeout(RunJobCommand command, Duration timeout) {
    return command.toBuilder()
        .setTimeout(
            com.google.protobuf.Duration.newBuilder()
                .setSeconds(timeout.toSeconds())
                .setNanos(timeout.toNanosPart()))
        .build();
  }
}
