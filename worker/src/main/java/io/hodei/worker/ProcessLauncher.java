package io.hodei.worker;

import io.hodei.api.v1.RunJobCommand;
import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the process a {@link RunJobCommand} asks for. A shell command's program and arguments are
 * executed directly (no shell in between; the program is looked up on the worker's PATH). A
 * script is written to a private file and run as {@code interpreter <file>}.
 *
 * <p>The child's environment is the worker's environment minus {@value WorkerConfig#ENV_TOKEN}
 * (the worker's one-time token never reaches a job), plus the job's own variables. Its stdin is
 * closed at once.
 *
 * <p>Thread-safe and stateless apart from its configuration.
 */
final class ProcessLauncher {
  private static final Logger log = LoggerFactory.getLogger(ProcessLauncher.class);

  private final Map<String, String> workerEnvironment;
  private final ScriptWorkspace workspace;

  ProcessLauncher(Map<String, String> workerEnvironment, ScriptWorkspace workspace) {
    this.workerEnvironment = Map.copyOf(workerEnvironment);
    this.workspace = workspace;
  }

  /** A started job process, and the script directory to delete after it, if any. */
  record Launched(Process process, Optional<Path> scriptDirectory) {}

  /** The job could not be started; the message says why, in words fit for the job's result. */
  static final class LaunchFailure extends Exception {
    LaunchFailure(String message, Throwable cause) {
      super(message, cause);
    }
  }

  Launched launch(RunJobCommand command) throws LaunchFailure {
    List<String> argv = new ArrayList<>();
    Optional<Path> scriptDirectory = Optional.empty();
    switch (command.getCommand().getCommandTypeCase()) {
      case SHELL -> {
        var shell = command.getCommand().getShell();
        if (shell.getCmd().isBlank()) {
          throw new LaunchFailure("the shell command has no program", null);
        }
        argv.add(shell.getCmd());
        argv.addAll(shell.getArgsList());
      }
      case SCRIPT -> {
        var script = command.getCommand().getScript();
        if (script.getInterpreter().isBlank()) {
          throw new LaunchFailure("the script names no interpreter", null);
        }
        Path file;
        try {
          file = workspace.writeScript(script.getContent());
        } catch (IOException e) {
          throw new LaunchFailure("could not write the script: " + e.getMessage(), e);
        }
        scriptDirectory = Optional.of(file.getParent());
        argv.add(script.getInterpreter());
        argv.add(file.toString());
      }
      case COMMANDTYPE_NOT_SET -> throw new LaunchFailure("run_job carries no command", null);
    }
    try {
      Process process = processBuilder(argv, command).start();
      feedStdin(process, command);
      return new Launched(process, scriptDirectory);
    } catch (IOException | IllegalArgumentException | UnsupportedOperationException e) {
      scriptDirectory.ifPresent(workspace::deleteInBackground);
      throw new LaunchFailure("cannot start '" + argv.getFirst() + "': " + e.getMessage(), e);
    }
  }

  private ProcessBuilder processBuilder(List<String> argv, RunJobCommand command) {
    ProcessBuilder builder = new ProcessBuilder(argv);
    Map<String, String> env = builder.environment();
    env.clear();
    env.putAll(workerEnvironment);
    env.remove(WorkerConfig.ENV_TOKEN);
    env.putAll(command.getEnvMap());
    if (!command.getWorkingDir().isEmpty()) {
      builder.directory(new File(command.getWorkingDir()));
    }
    return builder;
  }

  /**
   * The job's stdin. Closed at once for now, so a job reading it sees end of input; this is where
   * the job's secrets will be written.
   */
  private static void feedStdin(Process process, RunJobCommand command) {
    try {
      process.getOutputStream().close();
    } catch (IOException e) {
      log.warn(
          "could not close the stdin of execution {}: {}", command.getExecutionId(), e.toString());
    }
  }
}
