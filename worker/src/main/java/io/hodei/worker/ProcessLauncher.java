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
 * executed directly (no shell in between). A script is written to a private file and run as
 * {@code interpreter <file>}.
 *
 * <p>Every job runs in a session and process group of its own when the platform allows, so that
 * {@link ProcessKiller} can signal all of it, orphans included. With a {@link PosixSpawner} (Linux,
 * glibc), {@code posix_spawn} does it in one exec of the program. Otherwise, with {@code setsid}
 * available, the worker starts {@code
 * setsid program args...}, and since a child of the JVM is no group leader, {@code setsid} makes
 * itself one and execs the program in place: the job's pid is its process group id. The program
 * is looked up beforehand, as {@code setsid} will ({@code execvp} with the job's own {@code PATH}
 * and working directory), so that a missing program is still reported as failing to start rather
 * than as {@code setsid}'s exit code. Without {@code setsid}, the program is started directly, in
 * the worker's process group.
 *
 * <p>The child's environment is the worker's environment minus {@value WorkerConfig#ENV_TOKEN} and the TLS PEM variables
 * (the worker's one-time token never reaches a job), plus the job's own variables. Its stdin is
 * closed at once.
 *
 * <p>Thread-safe and stateless apart from its configuration.
 */
final class ProcessLauncher {
  private static final Logger log = LoggerFactory.getLogger(ProcessLauncher.class);

  private final Map<String, String> workerEnvironment;
  private final ScriptWorkspace workspace;
  private final Optional<Path> setsid;
  private final Optional<PosixSpawner> spawner;

  /**
   * @param setsid the {@code setsid} program; empty: jobs run in the worker's process group
   */
  ProcessLauncher(
      Map<String, String> workerEnvironment, ScriptWorkspace workspace, Optional<Path> setsid) {
    this(workerEnvironment, workspace, setsid, Optional.empty());
  }

  /**
   * @param spawner starts jobs in a group of their own in one exec; empty: through {@link
   *     ProcessBuilder}, with {@code setsid} if given
   */
  ProcessLauncher(
      Map<String, String> workerEnvironment,
      ScriptWorkspace workspace,
      Optional<Path> setsid,
      Optional<PosixSpawner> spawner) {
    this.workerEnvironment = Map.copyOf(workerEnvironment);
    this.workspace = workspace;
    this.setsid = setsid;
    this.spawner = spawner;
  }

  /** How jobs are started, for the worker's start-up line. */
  String method() {
    if (spawner.isPresent()) {
      return "posix_spawn, each job in a session of its own";
    }
    return setsid.isPresent() ? "ProcessBuilder with setsid" : "ProcessBuilder, in the worker's process group";
  }

  /**
   * A started job process, the script directory to delete after it, if any, and whether the
   * process leads a process group of its own (its pid being the group's id).
   */
  record Launched(Process process, Optional<Path> scriptDirectory, boolean ownProcessGroup) {}

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
          file =
              workspace.writeScript(
                  ScriptHeader.forInterpreter(script.getInterpreter(), !script.getNoSafetyHeader())
                      .apply(script.getContent()));
        } catch (IOException e) {
          throw new LaunchFailure("could not write the script: " + e.getMessage(), e);
        }
        scriptDirectory = Optional.of(file.getParent());
        argv.add(script.getInterpreter());
        argv.add(file.toString());
      }
      case COMMANDTYPE_NOT_SET -> throw new LaunchFailure("run_job carries no command", null);
    }
    String program = argv.getFirst();
    try {
      ProcessBuilder builder = processBuilder(command);
      if (spawner.isPresent()) {
        Path executable = requireExecutable(program, builder).toAbsolutePath();
        Process process = spawner.get().spawn(executable, argv, builder.environment(), directory(builder));
        feedStdin(process, command);
        return new Launched(process, scriptDirectory, true);
      }
      if (setsid.isPresent()) {
        requireExecutable(program, builder);
        argv.addFirst(setsid.get().toString());
      }
      Process process = builder.command(argv).start();
      feedStdin(process, command);
      return new Launched(process, scriptDirectory, setsid.isPresent());
    } catch (LaunchFailure e) {
      scriptDirectory.ifPresent(workspace::deleteInBackground);
      throw e;
    } catch (IOException | IllegalArgumentException | IllegalStateException | UnsupportedOperationException e) {
      scriptDirectory.ifPresent(workspace::deleteInBackground);
      throw new LaunchFailure("cannot start '" + program + "': " + e.getMessage(), e);
    }
  }

  private ProcessBuilder processBuilder(RunJobCommand command) {
    ProcessBuilder builder = new ProcessBuilder();
    Map<String, String> env = builder.environment();
    env.clear();
    env.putAll(workerEnvironment);
    env.remove(WorkerConfig.ENV_TOKEN);
    // The worker's private key is its identity; a job must not be able to impersonate it.
    env.remove(WorkerTls.ENV_KEY);
    env.remove(WorkerTls.ENV_CERT);
    env.remove(WorkerTls.ENV_CA);
    env.putAll(command.getEnvMap());
    if (!command.getWorkingDir().isEmpty()) {
      builder.directory(new File(command.getWorkingDir()));
    }
    return builder;
  }

  private static Path directory(ProcessBuilder builder) {
    return builder.directory() == null ? null : builder.directory().toPath();
  }

  /**
   * The program's path, looked up as {@code execvp} would (with the job's {@code PATH} and
   * working directory); fails if there is none.
   */
  private static Path requireExecutable(String program, ProcessBuilder builder)
      throws LaunchFailure {
    Path workingDirectory =
        builder.directory() == null ? Path.of("").toAbsolutePath() : builder.directory().toPath();
    Executables.Resolution resolution =
        Executables.resolve(program, builder.environment().get("PATH"), workingDirectory);
    if (resolution.executable().isEmpty()) {
      throw new LaunchFailure(
          "cannot start '" + program + "': " + resolution.problem(), null);
    }
    return resolution.executable().get();
  }

  /**
   * The job's stdin: for a job with secrets, one JSON object of name to value, then end of input;
   * for one without, end of input at once. Written on a virtual thread, because a job that does not
   * read stdin would otherwise block its own launch once the pipe's buffer is full; the secrets
   * then simply go unread. Values only ever pass through this pipe: never a file, the
   * environment, the arguments or a log.
   */
  private static void feedStdin(Process process, RunJobCommand command) {
    var stdin = process.getOutputStream();
    if (command.getSecretsCount() == 0) {
      closeQuietly(stdin, command);
      return;
    }
    // A platform thread: a write blocked on the pipe would pin a virtual thread's carrier.
    Thread.ofPlatform()
        .daemon()
        .name("stdin-" + command.getExecutionId())
        .start(
            () -> {
              try {
                stdin.write(SecretsJson.encode(command.getSecretsMap()));
                stdin.flush();
              } catch (IOException e) {
                // The job ended or closed stdin without reading: its choice. The message names no value.
                log.debug("the job did not read its secrets: {}", e.getClass().getSimpleName());
              } finally {
                closeQuietly(stdin, command);
              }
            });
  }

  private static void closeQuietly(java.io.OutputStream stdin, RunJobCommand command) {
    try {
      stdin.close();
    } catch (IOException e) {
      log.debug("could not close the stdin of execution {}: {}", command.getExecutionId(), e.toString());
    }
  }
}
