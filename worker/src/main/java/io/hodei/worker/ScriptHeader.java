package io.hodei.worker;

/**
 * What goes before a script's own text. Shell scripts start with a shebang and, unless the job
 * opts out, a safety header that stops at the first failing command, the first unset variable and
 * (for bash and zsh) the first failing stage of a pipeline. Other interpreters get their shebang
 * only, so that the file also runs by itself.
 *
 * <p>A script that brings its own shebang keeps it as its first line; the header follows it. The
 * header adds no line break inside the user's text, so line numbers in error messages are the
 * script's own plus the header's length ({@link #lines}).
 */
record ScriptHeader(String text) {

  static ScriptHeader forInterpreter(String interpreter, boolean safety) {
    String shebang =
        switch (interpreter) {
          case "bash" -> "#!/bin/bash\n";
          case "sh" -> "#!/bin/sh\n";
          default -> "#!/usr/bin/env " + interpreter + "\n";
        };
    String options =
        !safety
            ? ""
            : switch (interpreter) {
              case "bash", "zsh" -> "set -euo pipefail\n";
              case "sh", "dash" -> "set -eu\n";
              default -> "";
            };
    return new ScriptHeader(shebang + options);
  }

  /** The script as written to disk: the user's shebang (if any), then the header's options, then the rest. */
  String apply(String content) {
    if (content.startsWith("#!")) {
      int end = content.indexOf('\n');
      String ownShebang = end < 0 ? content + "\n" : content.substring(0, end + 1);
      String rest = end < 0 ? "" : content.substring(end + 1);
      return ownShebang + text.substring(text.indexOf('\n') + 1) + rest;
    }
    return text + content;
  }

  /** How many lines the header adds before the script's first line. */
  long lines() {
    return text.chars().filter(c -> c == '\n').count();
  }
}
