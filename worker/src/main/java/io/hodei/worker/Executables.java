package io.hodei.worker;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Finds programs the way {@code execvp} does: a name with a slash is a path (relative ones from
 * the working directory), any other name is looked up in the directories of a {@code PATH} value,
 * the first regular executable file winning. Stateless.
 */
final class Executables {
  /** What {@code execvp} searches when {@code PATH} is unset. */
  private static final String DEFAULT_PATH = "/bin:/usr/bin";

  private Executables() {}

  /** The program {@code name} on {@code path} ({@code null}: unset), if there is one. */
  static Optional<Path> find(String name, String path) {
    return resolve(name, path, Path.of("")).executable();
  }

  /** Where {@code program} would be executed from, or why it can't be. */
  record Resolution(Optional<Path> executable, String problem) {}

  /**
   * Resolves {@code program} as {@code execvp} would for a process whose {@code PATH} is {@code
   * path} ({@code null}: unset) and whose working directory is {@code workingDirectory}.
   */
  static Resolution resolve(String program, String path, Path workingDirectory) {
    try {
      if (program.contains("/")) {
        Path file = workingDirectory.resolve(program);
        if (isExecutableFile(file)) {
          return found(file);
        }
        return Files.exists(file)
            ? notFound("it is not an executable file")
            : notFound("no such file");
      }
      boolean seenButNotExecutable = false;
      for (String directory : (path == null ? DEFAULT_PATH : path).split(":", -1)) {
        // An empty entry means the working directory, as for execvp.
        Path file =
            directory.isEmpty()
                ? workingDirectory.resolve(program)
                : workingDirectory.resolve(directory).resolve(program);
        if (isExecutableFile(file)) {
          return found(file);
        }
        seenButNotExecutable |= Files.exists(file);
      }
      return notFound(
          seenButNotExecutable ? "it is on PATH but not executable" : "it is not on PATH");
    } catch (InvalidPathException e) {
      return notFound("not a valid path: " + e.getMessage());
    }
  }

  private static boolean isExecutableFile(Path file) {
    return Files.isRegularFile(file) && Files.isExecutable(file);
  }

  private static Resolution found(Path file) {
    return new Resolution(Optional.of(file), "");
  }

  private static Resolution notFound(String problem) {
    return new Resolution(Optional.empty(), problem);
  }
}
