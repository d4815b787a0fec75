package io.hodei.core.job;

import java.util.List;

/** What a job runs: a program with arguments, or a script for an interpreter. */
public sealed interface CommandSpec {

  /** A program executed directly, with no shell in between. */
  record Shell(String cmd, List<String> args) implements CommandSpec {
    public Shell {
      args = List.copyOf(args);
    }
  }

  /**
   * A script written to a private file on the worker and run by {@code interpreter}. A shell
   * interpreter's script starts with a safety header ({@code set -euo pipefail} for bash) unless
   * {@code safetyHeader} is false.
   */
  record Script(String interpreter, String content, boolean safetyHeader) implements CommandSpec {
    public Script(String interpreter, String content) {
      this(interpreter, content, true);
    }
  }

  /** A short human form, for listings. */
  default String summary() {
    return switch (this) {
      case Shell s -> s.args().isEmpty() ? s.cmd() : s.cmd() + " " + String.join(" ", s.args());
      case Script s -> s.interpreter() + " script (" + s.content().length() + " chars)";
    };
  }
}
