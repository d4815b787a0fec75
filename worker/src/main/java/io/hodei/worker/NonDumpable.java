package io.hodei.worker;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the worker's process non-dumpable ({@code prctl(PR_SET_DUMPABLE, 0)}, through the FFM
 * API): the kernel then gives {@code /proc/PID/environ}, {@code mem}, {@code fd} and the other
 * files of the process to root, and refuses {@code ptrace} to any process without {@code
 * CAP_SYS_PTRACE}, including the worker's own jobs running under the same uid. So the
 * credentials the worker holds in memory cannot be read out of it. A job gets its own, dumpable
 * state back when it executes its program.
 *
 * <p>Off Linux, or where libc's {@code prctl} cannot be called, nothing happens but a warning.
 */
final class NonDumpable {
  private static final Logger log = LoggerFactory.getLogger(NonDumpable.class);
  private static final int PR_GET_DUMPABLE = 3;
  private static final int PR_SET_DUMPABLE = 4;

  private NonDumpable() {}

  /** Makes this process non-dumpable; whether it is now. Never throws. */
  static boolean apply() {
    Optional<MethodHandle> prctl = prctl();
    if (prctl.isEmpty()) {
      log.warn("cannot make the worker non-dumpable here (no Linux prctl): its jobs may read its memory");
      return false;
    }
    try {
      int rc = (int) prctl.get().invokeExact(PR_SET_DUMPABLE, 0L);
      if (rc != 0) {
        log.warn("prctl(PR_SET_DUMPABLE, 0) failed ({}): the worker's jobs may read its memory", rc);
        return false;
      }
      return dumpable().map(d -> !d).orElse(false);
    } catch (Throwable e) {
      log.warn("prctl(PR_SET_DUMPABLE, 0) failed: {}: the worker's jobs may read its memory", e.toString());
      return false;
    }
  }

  /** Whether this process is dumpable, as {@code prctl(PR_GET_DUMPABLE)} says; empty off Linux. */
  static Optional<Boolean> dumpable() {
    try {
      var prctl = prctl();
      if (prctl.isEmpty()) {
        return Optional.empty();
      }
      int value = (int) prctl.get().invokeExact(PR_GET_DUMPABLE, 0L);
      return value < 0 ? Optional.empty() : Optional.of(value != 0);
    } catch (Throwable e) {
      return Optional.empty();
    }
  }

  static Optional<MethodHandle> prctl() {
    if (!System.getProperty("os.name", "").equals("Linux")) {
      return Optional.empty();
    }
    try {
      Linker linker = Linker.nativeLinker();
      return linker.defaultLookup()
          .find("prctl")
          .map(
              symbol ->
                  linker.downcallHandle(
                      symbol,
                      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG),
                      Linker.Option.firstVariadicArg(1)));
    } catch (RuntimeException | LinkageError e) {
      return Optional.empty();
    }
  }
}
