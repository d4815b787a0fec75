package io.hodei.store;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * Where the store lives, as an admin writes it: empty for the embedded SQLite file in the data
 * directory, or a PostgreSQL URL such as {@code postgresql://hodei@db:5432/hodei} (also {@code
 * postgres://…} and {@code jdbc:postgresql://…}, with query parameters such as {@code
 * sslmode=verify-full} passed on to the driver).
 *
 * <p>A URL never carries the password: one that does (in its user part or as a {@code password}
 * parameter) is refused, because a URL travels on command lines, in process listings and in shell
 * history. The password comes separately ({@link #connect}).
 *
 * @param jdbcUrl the driver's URL; empty for SQLite
 * @param user the user to connect as; empty to leave it to the driver
 * @param shown the URL without its query, for messages and logs
 */
public record DatabaseUrl(Optional<String> jdbcUrl, String user, String shown) {

  /** The embedded default: SQLite in the data directory. */
  public static final DatabaseUrl EMBEDDED = new DatabaseUrl(Optional.empty(), "", "sqlite (in the data directory)");

  /**
   * Parses what an admin wrote; blank means {@link #EMBEDDED}.
   *
   * @throws IllegalArgumentException naming what is wrong, never echoing a password
   */
  public static DatabaseUrl parse(String text) {
    if (text == null || text.isBlank()) {
      return EMBEDDED;
    }
    String trimmed = text.strip();
    String rest;
    String lower = trimmed.toLowerCase(Locale.ROOT);
    if (lower.startsWith("jdbc:postgresql://")) {
      rest = trimmed.substring("jdbc:postgresql://".length());
    } else if (lower.startsWith("postgresql://")) {
      rest = trimmed.substring("postgresql://".length());
    } else if (lower.startsWith("postgres://")) {
      rest = trimmed.substring("postgres://".length());
    } else {
      throw new IllegalArgumentException(
          "database URL: use postgresql://USER@HOST:PORT/DATABASE (or leave it out for the embedded SQLite); got "
              + scheme(trimmed));
    }
    URI uri;
    try {
      uri = new URI("postgresql://" + rest);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("database URL: not a URL (" + e.getReason() + ")");
    }
    String user = "";
    if (uri.getRawUserInfo() != null) {
      String info = uri.getRawUserInfo();
      if (info.contains(":")) {
        throw new IllegalArgumentException(
            "database URL: it holds a password; give it in HODEI_DATABASE_PASSWORD or a file"
                + " (--database-password-file) instead, so that it is not on a command line");
      }
      user = java.net.URLDecoder.decode(info, java.nio.charset.StandardCharsets.UTF_8);
    }
    String query = uri.getRawQuery() == null ? "" : uri.getRawQuery();
    for (String parameter : query.split("&")) {
      String name = parameter.contains("=") ? parameter.substring(0, parameter.indexOf('=')) : parameter;
      if (name.equalsIgnoreCase("password")) {
        throw new IllegalArgumentException(
            "database URL: it holds a password parameter; give it in HODEI_DATABASE_PASSWORD or a file"
                + " (--database-password-file) instead, so that it is not on a command line");
      }
      if (name.equalsIgnoreCase("user")) {
        throw new IllegalArgumentException("database URL: put the user before the host (postgresql://USER@HOST/DATABASE)");
      }
    }
    if (uri.getHost() == null || uri.getHost().isBlank()) {
      throw new IllegalArgumentException("database URL: it names no host (postgresql://USER@HOST:PORT/DATABASE)");
    }
    String path = uri.getRawPath() == null ? "" : uri.getRawPath();
    if (path.length() <= 1) {
      throw new IllegalArgumentException("database URL: it names no database (postgresql://USER@HOST:PORT/DATABASE)");
    }
    String hostPort = uri.getHost() + (uri.getPort() >= 0 ? ":" + uri.getPort() : "");
    String jdbc = "jdbc:postgresql://" + hostPort + path + (query.isEmpty() ? "" : "?" + query);
    String shown = "postgresql://" + (user.isEmpty() ? "" : user + "@") + hostPort + path;
    return new DatabaseUrl(Optional.of(jdbc), user, shown);
  }

  private static String scheme(String text) {
    int colon = text.indexOf(':');
    return colon > 0 && colon < 20 ? "'" + text.substring(0, colon) + ":'" : "no postgresql:// scheme";
  }

  public boolean embedded() {
    return jdbcUrl.isEmpty();
  }

  /**
   * Opens and migrates the database: SQLite in {@code dataDir}, or PostgreSQL with {@code
   * password} (empty to leave it to the driver: a {@code .pgpass} file, or trust).
   *
   * @throws io.hodei.core.error.UnavailableException if it cannot be reached, logged into or
   *     migrated; the message names the database as {@link #shown}, never the password
   */
  public Database connect(Path dataDir, Optional<String> password) {
    return jdbcUrl.isEmpty()
        ? Database.sqlite(dataDir)
        : Database.postgres(jdbcUrl.get(), user, password.orElse(null));
  }
}
