package io.hodei.core.auth;

import java.util.Locale;
import java.util.Optional;

/** What a principal may do; the server's access table says which calls each role reaches. */
public enum Role {
  /** Anonymous: reaches only the calls that carry their own credential (worker registration). */
  NONE,
  /** Queues and manages its own jobs. */
  USER,
  /** Everything, on everyone's jobs. */
  ADMIN,
  /** A worker agent: acts on the executions assigned to it. */
  WORKER;

  /** The role named {@code word} (any case), if there is one. */
  public static Optional<Role> named(String word) {
    try {
      return Optional.of(valueOf(word.trim().toUpperCase(Locale.ROOT)));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  public String word() {
    return name().toLowerCase(Locale.ROOT);
  }
}
