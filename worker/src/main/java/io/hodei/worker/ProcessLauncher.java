package io.hodei.worker;

import io.hodei.api.v1.RunJobCommand;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
 * <p>Every job runs inside a {@link JobSandbox}: a uid, directory, cgroup and sandbox of its
 * own, as far as the machine allows, with a clean environment (the sandbox's documented base and
 * the job's own variables; nothing of the worker's). Its stdin carries its secrets, then ends.
 *
 * <p>Every spawn happens on one long-lived platform thread ({@code job-spawner}): the sandbox
 * asks the kernel to kill it when its parent goes ({@code PR_SET_PDEATHSIG}), and for the kernel
 * the parent is the thread that forked, so a pooled thread that ends while idle would take its
 * jobs with it.
 *
 * <p>Thread-safe and stateless apart from its configuration.
 */
final class ProcessLauncher {
  private static final Logger log = LoggerFactory.getLogger(ProcessLauncher.class);
  private static final ExecutorService SPAWNER =
      Executors.newSingleThreadExecutor(Thread.ofPlatform().name("job-spawner").daemon().factory());

  private final JobSandbox sandbox;
  private final Optional<Path> setsid;
  private final Optional<PosixSpawner> spawner;

  /**
   * @param setsid the {@code setsid} program; empty: jobs run in the worker's process group
   * @param spawner starts jobs in a group of their own in one exec; empty: through {@link
   *     ProcessBuilder}, with {@code setsid} if given
   */
  ProcessLauncher(JobSandbox sandbox, Optional<Path> setsid, Optional<PosixSpawner> spawner) {
    this.sandbox = sandbox;
    this.setsid = setsid;
    this.spawner = spawner;
  }

  /** How jobs are started, for the worker's start-up line. */
  String method() {
    String how;
    if (spawner.isPresent()) {
      how = "posix_spawn, each job in a session of its own";
    } else {
      how = setsid.isPresent() ? "ProcessBuilder with setsid" : "ProcessBuilder, in the worker's process group";
    }
    return how + "; " + sandbox.describe();
  }

  /**
   * A started job process, its sandbox (to close once the execution is over), and whether the
   * process leads a process group of its own (its pid being the group's id).
   */
  record Launched(Process process, JobSandbox.Job sandbox, boolean ownProcessGroup) {}

  /** The job could not be started; the message says why, in words fit for the job's result. */
  static final class LaunchFailure extends Exception {
    LaunchFailure(String message, Throwable cause) {
      super(message, cause);
    }
  }

  Launched launch(RunJobCommand command) throws LaunchFailure {
    JobSandbox.Job job;
    try {
      job = sandbox.open(command);
    } catch (IOException | RuntimeException e) {
      throw new LaunchFailure("could not prepare the job's sandbox: " + e.getMessage(), e);
    }
    try {
      return launchIn(job, command);
    } catch (LaunchFailure | RuntimeException e) {
      job.close();
      throw e;
    }
  }

  private Launched launchIn(JobSandbox.Job job, RunJobCommand command) throws LaunchFailure {
    List<String> argv = new ArrayList<>();
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
              job.writeScript(
                  ScriptHeader.forInterpreter(script.getInterpreter(), !script.getNoSafetyHeader())
                      .apply(script.getContent()));
        } catch (IOException e) {
          throw new LaunchFailure("could not write the script: " + e.getMessage(), e);
        }
        argv.add(script.getInterpreter());
        argv.add(file.toString());
      }
      case COMMANDTYPE_NOT_SET -> throw new LaunchFailure("run_job carries no command", null);
    }
    String program = argv.getFirst();
    Map<String, String> environment = job.environment();
    Optional<String> workingDir =
        command.getWorkingDir().isEmpty() ? Optional.empty() : Optional.of(command.getWorkingDir());
    Path start = job.startDirectory(workingDir);
    // The program is looked up here, as execvp will, so that a missing one is reported as failing
    // to start rather than as the exit code of a helper. Inside the sandbox the system directories
    // are the same paths; a program in the job's own directory is found there by the job.
    Path lookupDirectory = job.enclosed() ? job.hostWorkDirectory() : start;
    Path executable = requireExecutable(program, environment.get("PATH"), lookupDirectory);
    List<String> chain = job.wrap(argv, workingDir);
    boolean wrapped = chain.size() > argv.size();
    try {
      if (spawner.isPresent()) {
        Path first = wrapped ? Path.of(chain.getFirst()) : executable.toAbsolutePath();
        Process process = onSpawnerThread(() -> spawner.get().spawn(first, chain, environment, start));
        feedStdin(process, command);
        return new Launched(process, job, true);
      }
      List<String> jdkChain = new ArrayList<>(chain);
      if (setsid.isPresent()) {
        jdkChain.addFirst(setsid.get().toString());
      }
      ProcessBuilder builder = new ProcessBuilder(jdkChain).directory(start.toFile());
      builder.environment().clear();
      builder.environment().putAll(environment);
      Process process = onSpawnerThread(builder::start);
      Subreaper.own(process.pid()); // the JDK collects its status
      feedStdin(process, command);
      return new Launched(process, job, setsid.isPresent());
    } catch (IOException | IllegalArgumentException | IllegalStateException | UnsupportedOperationException e) {
      throw new LaunchFailure("cannot start '" + program + "': " + e.getMessage(), e);
    }
  }

  private interface Spawn {
    Process start() throws IOException;
  }

  private static Process onSpawnerThread(Spawn spawn) throws IOException {
    Future<Process> started = SPAWNER.submit(spawn::start);
    try {
      return started.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      if (e.getCause() instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      // The spawn goes on; whatever it starts is ended when the sandbox is closed.
      throw new IllegalStateException("interrupted while starting the job", e);
    }
  }

  /**
   * The program's path, looked up as {@code execvp} would (with the job's {@code PATH} and
   * working directory); fails if there is none.
   */
  private static Path requireExecutable(String program, String path, Path workingDirectory)
      throws LaunchFailure {
    Executables.Resolution resolution = Executables.resolve(program, path, workingDirectory);
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
