package io.hodei.core.files;

import io.hodei.core.error.UnavailableException;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owner-only modes for the control plane's private files: the data directory, the database and
 * its {@code -wal}/{@code -shm} files, the secret key, TLS private keys and the admin token. The
 * one place that creates such files and checks their modes (store, security and cli use it).
 *
 * <p>Invariants: a directory made private has no permission beyond {@code 0700}, a file none
 * beyond {@code 0600}. New ones are created with exactly those modes (never wider, whatever the
 * umask, then nothing to tighten). An existing one with wider bits has those bits removed, with a
 * WARN naming it and its old mode; bits are never added, so a {@code 0400} key stays {@code 0400}.
 * On a file system without POSIX permissions nothing is checked (logged once per path at DEBUG).
 *
 * <p>Stateless and thread-safe.
 */
public final class FileModes {
  private static final Logger log = LoggerFactory.getLogger(FileModes.class);
  private static final Set<PosixFilePermission> DIRECTORY = PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

  private FileModes() {}

  /**
   * Creates {@code dir} (and missing parents; only {@code dir} itself is made private) if needed,
   * and makes it at most {@code 0700}.
   *
   * @return {@code dir}
   * @throws UnavailableException if it cannot be created or its mode cannot be set
   */
  public static Path privateDirectory(Path dir) {
    try {
      if (!Files.isDirectory(dir)) {
        Path parent = dir.toAbsolutePath().getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        try {
          Files.createDirectory(dir, attribute(DIRECTORY));
        } catch (FileAlreadyExistsException e) {
          // created meanwhile by someone else: checked below like any existing one
        } catch (UnsupportedOperationException e) {
          Files.createDirectories(dir);
        }
      }
      restrict(dir, DIRECTORY);
      return dir;
    } catch (IOException e) {
      throw new UnavailableException("cannot create the private directory " + dir + ": " + e.getMessage(), e);
    }
  }

  /**
   * Makes {@code file} at most {@code 0600} if it exists; nothing if it does not.
   *
   * @throws UnavailableException if its mode cannot be read or set
   */
  public static void restrictFile(Path file) {
    try {
      if (Files.exists(file)) {
        restrict(file, FILE);
      }
    } catch (IOException e) {
      throw new UnavailableException("cannot restrict the mode of " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Creates {@code file} empty with mode {@code 0600} if it does not exist, else makes it at most
   * {@code 0600}.
   *
   * @throws UnavailableException if it cannot be created or its mode cannot be set
   */
  public static void createPrivateFile(Path file) {
    try {
      try {
        Files.createFile(file, attribute(FILE));
      } catch (FileAlreadyExistsException e) {
        restrict(file, FILE);
      } catch (UnsupportedOperationException e) {
        if (!Files.exists(file)) {
          Files.createFile(file);
        }
      }
    } catch (IOException e) {
      throw new UnavailableException("cannot create " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Writes {@code content} to {@code file}, mode {@code 0600}, replacing it atomically: a temporary
   * sibling created {@code 0600} is written and moved into place, so the content is never readable
   * by others, not even for a moment.
   *
   * @throws UnavailableException if it cannot be written
   */
  public static void writePrivate(Path file, byte[] content) {
    Path temp = file.resolveSibling("." + file.getFileName() + ".tmp");
    try {
      Files.deleteIfExists(temp);
      try {
        Files.createFile(temp, attribute(FILE));
      } catch (UnsupportedOperationException e) {
        Files.createFile(temp);
      }
      Files.write(temp, content);
      Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UnavailableException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  /** The mode as {@code 0644}, for messages. */
  public static String octal(Set<PosixFilePermission> permissions) {
    int mode = 0;
    for (PosixFilePermission p : permissions) {
      mode |= 1 << (8 - p.ordinal());
    }
    return String.format("0%03o", mode);
  }

  private static void restrict(Path path, Set<PosixFilePermission> allowed) throws IOException {
    Set<PosixFilePermission> old;
    try {
      old = Files.getPosixFilePermissions(path);
    } catch (UnsupportedOperationException e) {
      log.debug("{}: no POSIX permissions on this file system; mode not checked", path);
      return;
    }
    if (allowed.containsAll(old)) {
      return;
    }
    Set<PosixFilePermission> tightened = EnumSet.noneOf(PosixFilePermission.class);
    tightened.addAll(old);
    tightened.retainAll(allowed);
    Files.setPosixFilePermissions(path, tightened);
    log.warn(
        "{} was mode {}, readable or writable beyond its owner; now {}",
        path,
        octal(old),
        octal(tightened));
  }

  private static java.nio.file.attribute.FileAttribute<Set<PosixFilePermission>> attribute(
      Set<PosixFilePermission> permissions) {
    return PosixFilePermissions.asFileAttribute(permissions);
  }
}
