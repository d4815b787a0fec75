package io.hodei.worker;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts job processes with glibc's {@code posix_spawn(3)}, called through the FFM API: one
 * {@code clone(CLONE_VM|CLONE_VFORK)} and one {@code exec} of the job's program, in a session
 * and process group of its own ({@code POSIX_SPAWN_SETSID}).
 *
 * <p>Why: {@link ProcessBuilder} execs the JDK's {@code jspawnhelper}, which execs the program, and
 * a job in its own group needed a third exec, of {@code setsid}. Each exec of a dynamically linked
 * program costs about half a millisecond of CPU; for trivial jobs that was most of the worker's
 * cost per job (see docs/benchmarks.md, "Throughput").
 *
 * <p>The child gets what {@link ProcessBuilder} gives it: pipes on 0, 1 and 2; every other
 * descriptor closed ({@code posix_spawn_file_actions_addclosefrom_np}); default signal
 * dispositions and an empty signal mask (the JVM ignores or blocks some signals, and ignored
 * signals survive {@code exec}); the given working directory and environment. An exec failure
 * (no such file, permission denied) is reported by {@code posix_spawn} itself, as an {@link
 * IOException} naming the error.
 *
 * <p>Available on Linux with glibc 2.34 or later; {@link #load()} is empty elsewhere, and the
 * worker falls back to {@link ProcessBuilder} with {@code setsid}.
 *
 * <p>Thread-safe: stateless beyond the resolved native functions; each spawn uses its own memory.
 */
final class PosixSpawner {
  private static final Logger log = LoggerFactory.getLogger(PosixSpawner.class);

  // glibc's flag values (spawn.h), the same on every Linux architecture.
  private static final short POSIX_SPAWN_SETSIGDEF = 0x04;
  private static final short POSIX_SPAWN_SETSIGMASK = 0x08;
  private static final short POSIX_SPAWN_SETSID = 0x80;
  private static final int O_CLOEXEC = 0x80000;
  private static final int EINTR = 4;
  private static final int ENOEXEC = 8;
  /**
   * Upper bounds for glibc's opaque structures (on x86-64 and aarch64: posix_spawn_file_actions_t
   * 80 bytes, posix_spawnattr_t 336, sigset_t 128): the library writes into what it is given.
   */
  private static final long FILE_ACTIONS_BYTES = 512;
  private static final long ATTR_BYTES = 1024;
  private static final long SIGSET_BYTES = 256;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
  private static final VarHandle ERRNO_HANDLE =
      Linker.Option.captureStateLayout()
          .varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));

  private final MethodHandle posixSpawn;
  private final MethodHandle actionsInit;
  private final MethodHandle actionsDestroy;
  private final MethodHandle actionsAddDup2;
  private final MethodHandle actionsAddChdir;
  private final MethodHandle actionsAddCloseFrom;
  private final MethodHandle attrInit;
  private final MethodHandle attrDestroy;
  private final MethodHandle attrSetFlags;
  private final MethodHandle attrSetSigMask;
  private final MethodHandle attrSetSigDefault;
  private final MethodHandle sigEmptySet;
  private final MethodHandle sigFillSet;
  private final MethodHandle pipe2;
  private final MethodHandle close;
  private final MethodHandle waitpid;
  private final MethodHandle strerror;

  private PosixSpawner(SymbolLookup libc) {
    posixSpawn = function(libc, "posix_spawn", JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
    actionsInit = function(libc, "posix_spawn_file_actions_init", JAVA_INT, ADDRESS);
    actionsDestroy = function(libc, "posix_spawn_file_actions_destroy", JAVA_INT, ADDRESS);
    actionsAddDup2 = function(libc, "posix_spawn_file_actions_adddup2", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
    actionsAddChdir = function(libc, "posix_spawn_file_actions_addchdir_np", JAVA_INT, ADDRESS, ADDRESS);
    actionsAddCloseFrom = function(libc, "posix_spawn_file_actions_addclosefrom_np", JAVA_INT, ADDRESS, JAVA_INT);
    attrInit = function(libc, "posix_spawnattr_init", JAVA_INT, ADDRESS);
    attrDestroy = function(libc, "posix_spawnattr_destroy", JAVA_INT, ADDRESS);
    attrSetFlags = function(libc, "posix_spawnattr_setflags", JAVA_INT, ADDRESS, JAVA_SHORT);
    attrSetSigMask = function(libc, "posix_spawnattr_setsigmask", JAVA_INT, ADDRESS, ADDRESS);
    attrSetSigDefault = function(libc, "posix_spawnattr_setsigdefault", JAVA_INT, ADDRESS, ADDRESS);
    sigEmptySet = function(libc, "sigemptyset", JAVA_INT, ADDRESS);
    sigFillSet = function(libc, "sigfillset", JAVA_INT, ADDRESS);
    pipe2 = LINKER.downcallHandle(
        libc.find("pipe2").orElseThrow(), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), ERRNO);
    close = function(libc, "close", JAVA_INT, JAVA_INT);
    waitpid = LINKER.downcallHandle(
        libc.find("waitpid").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), ERRNO);
    strerror = function(libc, "strerror", ADDRESS, JAVA_INT);
  }

  private static MethodHandle function(
      SymbolLookup libc, String name, java.lang.foreign.MemoryLayout result, java.lang.foreign.MemoryLayout... args) {
    MemorySegment symbol =
        libc.find(name).orElseThrow(() -> new UnsupportedOperationException("libc has no " + name));
    return LINKER.downcallHandle(symbol, FunctionDescriptor.of(result, args));
  }

  /**
   * The spawner, if this platform has what it needs (Linux, glibc with {@code
   * posix_spawn_file_actions_addclosefrom_np}, {@code /proc/self/fd}, native access allowed).
   */
  static Optional<PosixSpawner> load() {
    if (!System.getProperty("os.name", "").equals("Linux") || !Files.isDirectory(Path.of("/proc/self/fd"))) {
      return Optional.empty();
    }
    try {
      return Optional.of(new PosixSpawner(LINKER.defaultLookup()));
    } catch (RuntimeException | LinkageError e) {
      log.info("posix_spawn is not usable here ({}); jobs start through the JDK", e.toString());
      return Optional.empty();
    }
  }

  /**
   * Starts {@code program} with arguments {@code argv} (including {@code argv[0]}, the name the
   * program sees) in a new session, with exactly {@code environment} and in {@code directory}
   * (the worker's own when null). No {@code PATH} search happens here: {@code program} is a path,
   * absolute so that it does not depend on {@code directory}.
   *
   * @throws IOException if the pipes cannot be made or the program cannot be executed
   */
  Process spawn(Path program, List<String> argv, Map<String, String> environment, Path directory)
      throws IOException {
    int[] stdin = pipe();
    int[] stdout;
    int[] stderr;
    try {
      stdout = pipe();
    } catch (IOException e) {
      closeAll(stdin[0], stdin[1]);
      throw e;
    }
    try {
      stderr = pipe();
    } catch (IOException e) {
      closeAll(stdin[0], stdin[1], stdout[0], stdout[1]);
      throw e;
    }
    int pid;
    try {
      pid = spawnOrIOException(program, argv, environment, directory, stdin[0], stdout[1], stderr[1]);
    } catch (IOException | RuntimeException e) {
      // The parent's ends here; the child's ends in the finally below (never twice: a
      // descriptor number closed twice may by then belong to another job or a socket).
      closeAll(stdin[1], stdout[0], stderr[0]);
      throw e;
    } finally {
      // The child has its own copies (or there is no child): the parent keeps only its ends.
      closeAll(stdin[0], stdout[1], stderr[1]);
    }
    OutputStream toChild = null;
    InputStream fromStdout = null;
    InputStream fromStderr = null;
    try {
      // No public API turns a descriptor number into a stream; opening the pipe again through
      // /proc gives a stream its own descriptor, and the original is closed right after.
      toChild = new FileOutputStream("/proc/self/fd/" + stdin[1]);
      fromStdout = new FileInputStream("/proc/self/fd/" + stdout[0]);
      fromStderr = new FileInputStream("/proc/self/fd/" + stderr[0]);
      try {
        return new SpawnedProcess(pid, toChild, fromStdout, fromStderr, this);
      } catch (IllegalStateException e) {
        throw new IOException(e.getMessage(), e);
      }
    } catch (IOException | RuntimeException e) {
      // The job runs but cannot be watched: it must not run on unseen.
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      reap(pid);
      for (java.io.Closeable stream : new java.io.Closeable[] {toChild, fromStdout, fromStderr}) {
        if (stream != null) {
          try {
            stream.close();
          } catch (IOException suppressed) {
            e.addSuppressed(suppressed);
          }
        }
      }
      throw e;
    } finally {
      closeAll(stdin[1], stdout[0], stderr[0]);
    }
  }

  private int spawnOrIOException(
      Path program, List<String> argv, Map<String, String> environment, Path directory, int in, int out, int err)
      throws IOException {
    try {
      return spawn(program, argv, environment, directory, in, out, err);
    } catch (IllegalStateException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  private int spawn(
      Path program, List<String> argv, Map<String, String> environment, Path directory, int in, int out, int err)
      throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment actions = arena.allocate(FILE_ACTIONS_BYTES, 16);
      MemorySegment attr = arena.allocate(ATTR_BYTES, 16);
      check((int) actionsInit.invokeExact(actions), "posix_spawn_file_actions_init");
      try {
        check((int) attrInit.invokeExact(attr), "posix_spawnattr_init");
        try {
          check((int) actionsAddDup2.invokeExact(actions, in, 0), "adddup2");
          check((int) actionsAddDup2.invokeExact(actions, out, 1), "adddup2");
          check((int) actionsAddDup2.invokeExact(actions, err, 2), "adddup2");
          if (directory != null) {
            check((int) actionsAddChdir.invokeExact(actions, arena.allocateFrom(directory.toString())), "addchdir");
          }
          check((int) actionsAddCloseFrom.invokeExact(actions, 3), "addclosefrom");
          MemorySegment empty = arena.allocate(SIGSET_BYTES, 16);
          MemorySegment all = arena.allocate(SIGSET_BYTES, 16);
          check((int) sigEmptySet.invokeExact(empty), "sigemptyset");
          check((int) sigFillSet.invokeExact(all), "sigfillset");
          check((int) attrSetSigMask.invokeExact(attr, empty), "setsigmask");
          check((int) attrSetSigDefault.invokeExact(attr, all), "setsigdefault");
          short flags = (short) (POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
          check((int) attrSetFlags.invokeExact(attr, flags), "setflags");

          MemorySegment pid = arena.allocate(JAVA_INT);
          MemorySegment envp =
              strings(arena, environment.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList());
          int rc =
              (int)
                  posixSpawn.invokeExact(
                      pid, arena.allocateFrom(program.toString()), actions, attr, strings(arena, argv), envp);
          if (rc == ENOEXEC && !argv.isEmpty()) {
            // As execvp (and so ProcessBuilder and setsid) does: a file the kernel cannot
            // execute, such as a script without a #! line, is run by /bin/sh.
            List<String> shell = new java.util.ArrayList<>(List.of("/bin/sh", program.toString()));
            shell.addAll(argv.subList(1, argv.size()));
            rc = (int) posixSpawn.invokeExact(pid, arena.allocateFrom("/bin/sh"), actions, attr, strings(arena, shell), envp);
          }
          if (rc != 0) {
            throw new IOException(errorText(rc));
          }
          return pid.get(JAVA_INT, 0);
        } finally {
          int _ = (int) attrDestroy.invokeExact(attr);
        }
      } finally {
        int _ = (int) actionsDestroy.invokeExact(actions);
      }
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("posix_spawn call failed", t);
    }
  }

  /** A NULL-terminated array of C strings. */
  private static MemorySegment strings(Arena arena, List<String> values) {
    MemorySegment array = arena.allocate(ADDRESS, values.size() + 1);
    for (int i = 0; i < values.size(); i++) {
      array.setAtIndex(ADDRESS, i, arena.allocateFrom(values.get(i)));
    }
    array.setAtIndex(ADDRESS, values.size(), MemorySegment.NULL);
    return array;
  }

  private void check(int rc, String what) throws IOException {
    if (rc != 0) {
      throw new IOException(what + ": " + errorText(rc));
    }
  }

  private int[] pipe() throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment fds = arena.allocate(JAVA_INT, 2);
      MemorySegment state = arena.allocate(Linker.Option.captureStateLayout());
      int rc = (int) pipe2.invokeExact(state, fds, O_CLOEXEC);
      if (rc != 0) {
        throw new IOException("cannot create a pipe: " + errorText((int) ERRNO_HANDLE.get(state, 0L)));
      }
      return new int[] {fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1)};
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("pipe2 call failed", t);
    }
  }

  private void closeAll(int... fds) {
    for (int fd : fds) {
      try {
        int _ = (int) close.invokeExact(fd);
      } catch (Throwable t) {
        log.warn("could not close descriptor {}: {}", fd, t.toString());
      }
    }
  }

  /**
   * Collects the exit status of {@code pid}, which must be a child of this process that has ended
   * (a zombie), so the call does not block. Returns what {@link Process#exitValue()} would: the
   * exit code, or 128 plus the signal that killed it.
   */
  int reap(int pid) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment status = arena.allocate(JAVA_INT);
      MemorySegment state = arena.allocate(Linker.Option.captureStateLayout());
      int rc;
      do {
        rc = (int) waitpid.invokeExact(state, pid, status, 0);
      } while (rc < 0 && (int) ERRNO_HANDLE.get(state, 0L) == EINTR);
      if (rc < 0) {
        throw new IllegalStateException(
            "waitpid(" + pid + "): " + errorText((int) ERRNO_HANDLE.get(state, 0L)));
      }
      int raw = status.get(JAVA_INT, 0);
      int signal = raw & 0x7f;
      return signal == 0 ? (raw >> 8) & 0xff : 0x80 + signal;
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("waitpid call failed", t);
    }
  }

  private String errorText(int errno) {
    try {
      MemorySegment text = (MemorySegment) strerror.invokeExact(errno);
      return text.reinterpret(1024).getString(0);
    } catch (Throwable t) {
      return "error " + errno;
    }
  }

  /**
   * A process started by {@link PosixSpawner}. Its end is observed through {@link
   * ProcessHandle#onExit()}, which waits without reaping ({@code waitid(WNOWAIT)}); the status
   * is then collected once, by {@link #reap}. Until then the pid cannot be reused, so signals sent
   * through the handle never reach a stranger.
   */
  static final class SpawnedProcess extends Process {
    private final int pid;
    private final ProcessHandle handle;
    private final OutputStream stdin;
    private final InputStream stdout;
    private final InputStream stderr;
    private final CompletableFuture<Integer> exit;

    private SpawnedProcess(int pid, OutputStream stdin, InputStream stdout, InputStream stderr, PosixSpawner spawner) {
      this.pid = pid;
      this.stdin = stdin;
      this.stdout = stdout;
      this.stderr = stderr;
      // The child is not reaped before its status is collected below, so its handle exists.
      this.handle = ProcessHandle.of(pid).orElseThrow(() -> new IllegalStateException("pid " + pid + " vanished"));
      Subreaper.own(pid); // its status is collected below, not by the worker's subreaper
      this.exit = handle.onExit().thenApply(ended -> {
        try {
          return spawner.reap(pid);
        } finally {
          Subreaper.disown(pid);
        }
      });
    }

    @Override
    public OutputStream getOutputStream() {
      return stdin;
    }

    @Override
    public InputStream getInputStream() {
      return stdout;
    }

    @Override
    public InputStream getErrorStream() {
      return stderr;
    }

    @Override
    public int waitFor() throws InterruptedException {
      try {
        return exit.get();
      } catch (ExecutionException e) {
        throw new IllegalStateException("could not collect the exit status of pid " + pid, e.getCause());
      }
    }

    @Override
    public boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
      try {
        exit.get(timeout, unit);
        return true;
      } catch (TimeoutException e) {
        return false;
      } catch (ExecutionException e) {
        throw new IllegalStateException("could not collect the exit status of pid " + pid, e.getCause());
      }
    }

    @Override
    public int exitValue() {
      Integer code = exit.getNow(null);
      if (code == null) {
        throw new IllegalThreadStateException("process " + pid + " has not exited");
      }
      return code;
    }

    @Override
    public boolean isAlive() {
      return !exit.isDone();
    }

    @Override
    public void destroy() {
      if (isAlive()) {
        handle.destroy();
      }
    }

    @Override
    public Process destroyForcibly() {
      if (isAlive()) {
        handle.destroyForcibly();
      }
      return this;
    }

    @Override
    public boolean supportsNormalTermination() {
      return true;
    }

    @Override
    public long pid() {
      return pid;
    }

    @Override
    public ProcessHandle toHandle() {
      return handle;
    }

    @Override
    public CompletableFuture<Process> onExit() {
      return exit.thenApply(code -> this);
    }

    @Override
    public String toString() {
      return "SpawnedProcess[pid=" + pid + ", exitValue=" + (isAlive() ? "not exited" : exit.getNow(-1)) + "]";
    }
  }
}
