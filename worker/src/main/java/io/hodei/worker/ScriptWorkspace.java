package io.hodei.worker;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's private temp directory, readable only by the worker's user (0700), and emptied of
 * whatever a previous run left on start. Jobs have their own directories elsewhere ({@link
 * JobSandbox}); this one is the worker's alone.
 *
 * <p>Thread-safe: only {@link #removeLeftovers} touches it, once, at start.
 */
final class ScriptWorkspace {
  private static final Logger log = LoggerFactory.getLogger(ScriptWorkspace.class);
  private static final Set<PosixFilePermission> OWNER_ONLY =
      PosixFilePermissions.fromString("rwx------");

  private final Path root;
  private final boolean posix;

  ScriptWorkspace(Path root) {
    this.root = root;
    this.posix = root.getFileSystem().supportedFileAttributeViews().contains("posix");
  }

  Path root() {
    return root;
  }

  /**
   * Creates the root if needed and deletes what is inside it. Refuses a root that is a symbolic
   * link or belongs to another user: in a shared temp directory anyone could have placed one, and
   * the worker would then delete or expose someone else's files.
   */
  void removeLeftovers() throws IOException {
    Files.createDirectories(root, ownerOnly());
    if (Files.isSymbolicLink(root)) {
      throw new IOException(root + " is a symbolic link; refusing to use it");
    }
    // A file the worker creates is the worker's: the root must have the same owner.
    Path probe = Files.createTempFile(root, ".owner-", "", ownerOnly());
    UserPrincipal me;
    try {
      me = Files.getOwner(probe, LinkOption.NOFOLLOW_LINKS);
    } finally {
      Files.delete(probe);
    }
    UserPrincipal owner = Files.getOwner(root, LinkOption.NOFOLLOW_LINKS);
    if (!owner.equals(me)) {
      throw new IOException(root + " belongs to " + owner.getName() + ", not to " + me.getName());
    }
    if (posix) {
      Files.setPosixFilePermissions(root, OWNER_ONLY);
    }
    try (Stream<Path> leftovers = Files.list(root)) {
      for (Path leftover : leftovers.toList()) {
        log.info("deleting leftover {}", leftover);
        deleteTree(leftover);
      }
    }
  }

  private FileAttribute<?>[] ownerOnly() {
    return posix
        ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_ONLY)}
        : new FileAttribute<?>[0];
  }

  private static void deleteTree(Path path) throws IOException {
    if (!Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
      Files.deleteIfExists(path);
      return;
    }
    Files.walkFileTree(
        path,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
              throws IOException {
            Files.deleteIfExists(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path dir, IOException failure)
              throws IOException {
            if (failure != null) {
              throw failure;
            }
            Files.deleteIfExists(dir);
            return FileVisitResult.CONTINUE;
          }
        });
  }
}
