package io.hodei.worker;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The secrets a worker starts with: its one-time token and, from a provider with mTLS, its key,
 * certificate and CA. They never come from the environment or the arguments, which the worker's
 * jobs could read ({@code /proc/PID/environ}, {@code cmdline}); {@link #read} takes them, once, at
 * start, from
 *
 * <ol>
 *   <li>{@value #ENV_BOOTSTRAP_FILE}: a bootstrap document in a file only its owner may read (the
 *       Docker provider's way), deleted as soon as it is read, with its directory when that is a
 *       {@value #DIRECTORY_PREFIX}{@code *} directory and empty; a file on a read-only mount (a
 *       Kubernetes Secret volume, the Kubernetes provider's way) cannot be deleted and is left;
 *   <li>{@value #ENV_TOKEN_FILE}: a file holding the token alone (a worker started by hand; TLS
 *       then comes from the {@code HODEI_TLS_*_FILE} variables), left in place;
 *   <li>else standard input, unless it is a terminal: a bootstrap document (the local provider's
 *       way, through a pipe) or a line holding the token alone ({@code echo $OTP | hodei worker}).
 * </ol>
 *
 * <p>A bootstrap document is UTF-8 lines: {@value #HEADER}, {@code token <otp>}, optionally {@code
 * tls-ca}, {@code tls-cert} and {@code tls-key} each with the base64 of its PEM text, and {@value
 * #END}. Reading stops at {@value #END}, so a writer need not close its end first.
 *
 * <p>Invariant: {@link #toString()} never prints a secret. The variables that once carried
 * credentials ({@value WorkerConfig#ENV_TOKEN}, {@value WorkerTls#ENV_CA}, {@value
 * WorkerTls#ENV_CERT}, {@value WorkerTls#ENV_KEY}) are refused, so that nobody keeps putting
 * secrets where jobs can read them.
 *
 * @param token the one-time registration token
 * @param tls the worker's mTLS material as PEM text; empty when the document had none
 */
public record Bootstrap(String token, Optional<WorkerTls.Pem> tls) {
  public static final String ENV_BOOTSTRAP_FILE = "HODEI_BOOTSTRAP_FILE";
  public static final String ENV_TOKEN_FILE = "HODEI_TOKEN_FILE";
  public static final String HEADER = "hodei-bootstrap 1";
  public static final String END = "end";
  /** Directories named so are the bootstrap's own: removed with the file once it is read. */
  public static final String DIRECTORY_PREFIX = "hodei-bootstrap";

  private static final int MAX_BYTES = 64 * 1024;
  private static final Set<PosixFilePermission> OTHERS =
      Set.of(
          PosixFilePermission.GROUP_READ, PosixFilePermission.OTHERS_READ,
          PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE);

  public Bootstrap {
    if (token == null || token.isBlank()) {
      throw new IllegalArgumentException("the worker's one-time token is empty");
    }
    Objects.requireNonNull(tls, "tls");
  }

  /** A bootstrap with a token and no TLS material. */
  public static Bootstrap ofToken(String token) {
    return new Bootstrap(token, Optional.empty());
  }

  /**
   * Reads the bootstrap from where {@code env} says (see the class comment).
   *
   * @param stdin the worker's standard input
   * @param stdinIsTerminal whether that is a terminal: then it is not read
   * @throws IllegalArgumentException one line saying what is missing or wrong
   */
  public static Bootstrap read(Map<String, String> env, InputStream stdin, boolean stdinIsTerminal) {
    for (String legacy : List.of(WorkerConfig.ENV_TOKEN, WorkerTls.ENV_CA, WorkerTls.ENV_CERT, WorkerTls.ENV_KEY)) {
      if (env.containsKey(legacy)) {
        throw new IllegalArgumentException(
            legacy + " is not read any more: jobs could read it from the worker's environment; give the token with "
                + ENV_TOKEN_FILE + " or on stdin, and TLS files with HODEI_TLS_CA_FILE, HODEI_TLS_CERT_FILE,"
                + " HODEI_TLS_KEY_FILE");
      }
    }
    String file = env.get(ENV_BOOTSTRAP_FILE);
    if (file != null && !file.isBlank()) {
      return readAndDelete(Path.of(file.strip()));
    }
    String tokenFile = env.get(ENV_TOKEN_FILE);
    if (tokenFile != null && !tokenFile.isBlank()) {
      Path path = Path.of(tokenFile.strip());
      requirePrivate(path, ENV_TOKEN_FILE);
      try {
        return ofToken(Files.readString(path, StandardCharsets.UTF_8).strip());
      } catch (IOException e) {
        throw new IllegalArgumentException(ENV_TOKEN_FILE + ": cannot read " + path + ": " + e.getMessage(), e);
      }
    }
    if (stdinIsTerminal) {
      throw new IllegalArgumentException(
          "no one-time token: pipe it (or a bootstrap document) to stdin, or name a file with " + ENV_TOKEN_FILE);
    }
    return parse(stdin, "stdin");
  }

  /** Whether file descriptor 0 is a terminal, as far as this platform tells. */
  public static boolean stdinIsTerminal() {
    try {
      String target = Files.readSymbolicLink(Path.of("/proc/self/fd/0")).toString();
      return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
    } catch (IOException | UnsupportedOperationException e) {
      var console = System.console();
      return console != null && console.isTerminal();
    }
  }

  /** Reads the bootstrap document in {@code file}, then deletes it (and its own directory). */
  static Bootstrap readAndDelete(Path file) {
    try {
      requirePrivate(file, ENV_BOOTSTRAP_FILE);
      try (InputStream in = Files.newInputStream(file)) {
        return parse(in, ENV_BOOTSTRAP_FILE + " " + file);
      }
    } catch (IOException e) {
      throw new IllegalArgumentException(ENV_BOOTSTRAP_FILE + ": cannot read " + file + ": " + e.getMessage(), e);
    } finally {
      delete(file);
    }
  }

  private static void delete(Path file) {
    try {
      Files.deleteIfExists(file);
      Path dir = file.toAbsolutePath().getParent();
      if (dir != null && dir.getFileName() != null && dir.getFileName().toString().startsWith(DIRECTORY_PREFIX)) {
        Files.deleteIfExists(dir);
      }
    } catch (DirectoryNotEmptyException e) {
      // someone else's files are in there: leave the directory
    } catch (IOException e) {
      if (onReadOnlyMount(file)) {
        // An orchestrator's read-only mount (a Kubernetes Secret volume): it cannot be deleted
        // here, and goes with the pod. Its owner-only mode, checked before reading, and the job
        // sandbox keep jobs from it.
        System.getLogger(Bootstrap.class.getName())
            .log(System.Logger.Level.INFO, "the bootstrap file " + file + " is on a read-only mount; it stays until the pod goes");
        return;
      }
      throw new UncheckedIOException("cannot delete the bootstrap file " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Whether {@code file} lies under a read-only mount, by the innermost mount point of its real
   * path in {@code /proc/self/mountinfo} (the file store's own answer misses read-only bind
   * mounts). False where that cannot be read.
   */
  static boolean onReadOnlyMount(Path file) {
    try {
      String real = file.toRealPath().toString();
      String best = null;
      boolean readOnly = false;
      for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
        String[] fields = line.split(" ");
        if (fields.length < 6) {
          continue;
        }
        String point = unescapeMountPoint(fields[4]);
        boolean under = real.equals(point) || real.startsWith(point.endsWith("/") ? point : point + "/");
        if (under && (best == null || point.length() >= best.length())) {
          best = point;
          readOnly = List.of(fields[5].split(",")).contains("ro");
        }
      }
      return readOnly;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** mountinfo writes space, tab, newline and backslash in octal ({@code \040}). */
  private static String unescapeMountPoint(String field) {
    var out = new StringBuilder(field.length());
    for (int i = 0; i < field.length(); i++) {
      char c = field.charAt(i);
      if (c == '\\' && i + 3 < field.length() && field.substring(i + 1, i + 4).chars().allMatch(d -> d >= '0' && d <= '7')) {
        out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  /** Refuses a file that anyone but its owner may read or write. */
  private static void requirePrivate(Path file, String variable) {
    try {
      var permissions = Files.getPosixFilePermissions(file);
      if (permissions.stream().anyMatch(OTHERS::contains)) {
        throw new IllegalArgumentException(
            variable + ": " + file + " is readable or writable by others; make it owner-only (chmod 600)");
      }
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system: nothing to check
    } catch (IOException e) {
      throw new IllegalArgumentException(variable + ": cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Parses a bootstrap document, or a first line holding only a token, from {@code in}; reads at
   * most 64 KiB and stops at {@value #END}.
   */
  static Bootstrap parse(InputStream in, String source) {
    List<String> lines = new ArrayList<>();
    try {
      var reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      int bytes = 0;
      String line;
      while ((line = reader.readLine()) != null) {
        bytes += line.length() + 1;
        if (bytes > MAX_BYTES) {
          throw new IllegalArgumentException(source + ": the bootstrap is longer than " + MAX_BYTES + " bytes");
        }
        lines.add(line.strip());
        if (line.strip().equals(END) || (lines.size() == 1 && !line.strip().equals(HEADER))) {
          break; // the end of a document, or a bare token
        }
      }
    } catch (IOException e) {
      throw new IllegalArgumentException(source + ": cannot read the bootstrap: " + e.getMessage(), e);
    }
    if (lines.isEmpty() || lines.getFirst().isEmpty()) {
      throw new IllegalArgumentException(
          source + " holds no one-time token: pipe it (or a bootstrap document) to stdin, or name a file with "
              + ENV_TOKEN_FILE);
    }
    if (!lines.getFirst().equals(HEADER)) {
      if (lines.getFirst().chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException(source + ": expected a one-time token or '" + HEADER + "'");
      }
      return ofToken(lines.getFirst());
    }
    if (!lines.getLast().equals(END)) {
      throw new IllegalArgumentException(source + ": the bootstrap document ends before '" + END + "'");
    }
    String token = null;
    String ca = null;
    String cert = null;
    String key = null;
    for (String line : lines.subList(1, lines.size() - 1)) {
      int space = line.indexOf(' ');
      String name = space < 0 ? line : line.substring(0, space);
      String value = space < 0 ? "" : line.substring(space + 1).strip();
      switch (name) {
        case "token" -> token = value;
        case "tls-ca" -> ca = pem(value, name, source);
        case "tls-cert" -> cert = pem(value, name, source);
        case "tls-key" -> key = pem(value, name, source);
        default -> throw new IllegalArgumentException(source + ": unknown bootstrap entry '" + name + "'");
      }
    }
    if (token == null || token.isBlank()) {
      throw new IllegalArgumentException(source + ": the bootstrap document has no token");
    }
    int tlsParts = (ca == null ? 0 : 1) + (cert == null ? 0 : 1) + (key == null ? 0 : 1);
    if (tlsParts != 0 && tlsParts != 3) {
      throw new IllegalArgumentException(source + ": tls-ca, tls-cert and tls-key go together");
    }
    return new Bootstrap(token, tlsParts == 3 ? Optional.of(new WorkerTls.Pem(ca, cert, key)) : Optional.empty());
  }

  private static String pem(String base64, String name, String source) {
    try {
      return new String(Base64.getDecoder().decode(base64), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(source + ": " + name + " is not base64");
    }
  }

  @Override
  public String toString() {
    return "Bootstrap[token=<redacted>, tls=" + (tls.isPresent() ? "<redacted>" : "none") + "]";
  }
}
