package io.hodei.core.auth;

/**
 * Who makes a call: a name and a role. For a worker the name is its worker id; for a token the
 * token's name; for a certificate its CN.
 */
public record Principal(String name, Role role) {
  public static final Principal ANONYMOUS = new Principal("anonymous", Role.NONE);

  public Principal {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("a principal needs a name");
    }
  }

  public boolean isAdmin() {
    return role == Role.ADMIN;
  }

  /** Whether this principal may see and act on a job owned by {@code owner}. */
  public boolean mayActOnJobOf(String owner) {
    return isAdmin() || (role == Role.USER && name.equals(owner));
  }
}
