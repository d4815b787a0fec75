package io.hodei.cli;

import io.hodei.worker.AotTraining;
import java.io.File;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local workers' ahead-of-time class cache (JDK 25, JEP 483/514/515): classes loaded and
 * linked, and method profiles, from a training run of the worker, mapped by every later worker
 * JVM with {@code -XX:AOTCache=FILE}.
 *
 * <p>One cache per data directory and per inputs: its file name carries a hash of the java
 * binary, the JDK's version, the JVM options and every class path entry's path, size and
 * modification time, so a new JDK or a rebuilt jar means a new file (and a new training run),
 * never a stale one. The JVM checks the same things again when it maps the file and ignores a
 * cache that does not fit (with {@code -XX:AOTMode} left at {@code auto}, a missing, stale or
 * corrupt cache only costs the speed-up, never the worker).
 *
 * <p>Safe with several workers starting at once and several control planes on one data
 * directory: workers only ever read the finished file; the training run writes a file of its own
 * (unique name), under an exclusive file lock, and moves it into place atomically when the JVM
 * has finished writing it. A read-only or full data directory means no cache, not a failure.
 *
 * <p>Training runs in the background when the control plane starts, takes a few seconds of CPU
 * once, and workers started before it is done simply run without the cache.
 */
final class WorkerAotCache {
  private static final Logger log = LoggerFactory.getLogger(WorkerAotCache.class);
  static final String DIR = "worker-aot";
  private static final long TRAINING_TIMEOUT_SECONDS = 180;
  private static final Path NICE = Path.of("/usr/bin/nice");

  private final Path dir;
  private final Path cache;

  private WorkerAotCache(Path dir, Path cache) {
    this.dir = dir;
    this.cache = cache;
  }

  /** Whether this JVM's {@code java} understands {@code -XX:AOTCache}/{@code -XX:AOTCacheOutput}. */
  static boolean supported() {
    return Runtime.version().feature() >= 25;
  }

  /**
   * The cache for workers started with {@code java jvmOptions -cp classPath mainClass ...}.
   *
   * @param dataDir the control plane's data directory; the cache lives in {@code dataDir/worker-aot}
   */
  static WorkerAotCache of(Path dataDir, String java, List<String> jvmOptions, String classPath) {
    Path dir = dataDir.resolve(DIR);
    return new WorkerAotCache(dir, dir.resolve("worker-" + key(java, jvmOptions, classPath) + ".aot"));
  }

  Path file() {
    return cache;
  }

  boolean ready() {
    return Files.isRegularFile(cache);
  }

  /**
   * Starts the training run in the background unless the cache is there or another process is
   * writing it; returns at once.
   */
  void trainInBackground(List<String> trainingCommand) {
    if (ready()) {
      return;
    }
    Thread.ofPlatform()
        .daemon()
        .name("worker-aot-training")
        .priority(Thread.MIN_PRIORITY)
        .start(
            () -> {
              try {
                train(trainingCommand);
              } catch (IOException e) {
                log.info("no AOT class cache for workers ({}); they start without one", e.toString());
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } catch (RuntimeException e) {
                log.warn("no AOT class cache for workers; they start without one", e);
              }
            });
  }

  /**
   * Trains and publishes the cache; true when it is in place afterwards. {@code command} is the
   * worker's command with {@code -XX:AOTCacheOutput=} in place of {@code -XX:AOTCache=}: see
   * {@link #trainingCommand}.
   */
  boolean train(List<String> command) throws IOException, InterruptedException {
    if (ready()) {
      return true;
    }
    Files.createDirectories(dir);
    try (FileChannel lockFile =
            FileChannel.open(dir.resolve("training.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = tryLock(lockFile)) {
      if (lock == null) {
        log.debug("another process is training the workers' AOT class cache");
        return false;
      }
      if (ready()) {
        return true; // written by the process that held the lock before us
      }
      String unique = ProcessHandle.current().pid() + "-" + System.nanoTime();
      Path output = dir.resolve("training-" + unique + ".aot");
      Path config = dir.resolve("training-" + unique + ".aot.config");
      long started = System.nanoTime();
      List<String> argv = new ArrayList<>();
      // Below the workers and jobs that start meanwhile: the training only saves time later.
      if (Files.isExecutable(NICE)) {
        argv.addAll(List.of(NICE.toString(), "-n", "10"));
      }
      argv.addAll(withOutput(command, output));
      ProcessBuilder builder =
          new ProcessBuilder(argv)
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("training.log").toFile())
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      // A worker's environment, not the control plane's: the few variables a local worker
      // inherits, so that the control plane's secrets stay out of this JVM too.
      var inherited = System.getenv();
      builder.environment().clear();
      for (String name : io.hodei.provider.local.LocalProcessProvider.INHERITED) {
        if (inherited.get(name) != null) {
          builder.environment().put(name, inherited.get(name));
        }
      }
      builder.environment().put(AotTraining.ENV, "1");
      Process process = builder.start();
      try {
        if (!process.waitFor(TRAINING_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
          process.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
          process.destroyForcibly();
          log.warn("the workers' AOT class cache training took over {} s; stopped it", TRAINING_TIMEOUT_SECONDS);
          return false;
        }
        if (process.exitValue() != 0 || !Files.isRegularFile(output) || Files.size(output) == 0) {
          log.warn(
              "the workers' AOT class cache training failed (exit {}; see {}); workers start without it",
              process.exitValue(), dir.resolve("training.log"));
          return false;
        }
        Files.move(output, cache, StandardCopyOption.ATOMIC_MOVE);
        log.info(
            "wrote the workers' AOT class cache {} ({} MiB) in {} ms",
            cache, Files.size(cache) >> 20, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        removeOthers();
        return true;
      } finally {
        if (process.isAlive()) {
          process.destroyForcibly();
        }
        Files.deleteIfExists(output);
        Files.deleteIfExists(config);
      }
    }
  }

  /** The lock, or null when another process, or another thread of this one, holds it. */
  private static FileLock tryLock(FileChannel channel) throws IOException {
    try {
      return channel.tryLock();
    } catch (OverlappingFileLockException e) {
      return null;
    }
  }

  /** Caches for other JDKs or jars, and what crashed training runs left behind. */
  private void removeOthers() {
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.aot*")) {
      for (Path file : files) {
        if (!file.equals(cache)) {
          Files.deleteIfExists(file); // a worker still mapping it keeps its mapping
        }
      }
    } catch (IOException e) {
      log.debug("could not remove old AOT caches: {}", e.toString());
    }
  }

  /** {@code command} with its {@code -XX:AOTCache=...} option replaced by {@code -XX:AOTCacheOutput=output}. */
  static List<String> withOutput(List<String> command, Path output) {
    List<String> argv = new ArrayList<>();
    boolean replaced = false;
    for (String arg : command) {
      if (arg.startsWith("-XX:AOTCache=")) {
        argv.add("-XX:AOTCacheOutput=" + output);
        replaced = true;
      } else {
        argv.add(arg);
      }
    }
    if (!replaced) {
      throw new IllegalArgumentException("no -XX:AOTCache= option in " + command);
    }
    return argv;
  }

  private static String key(String java, List<String> jvmOptions, String classPath) {
    StringBuilder inputs = new StringBuilder();
    inputs.append(java).append('\n');
    inputs.append(System.getProperty("java.home")).append('\n');
    inputs.append(Runtime.version()).append('\n');
    inputs.append(System.getProperty("java.vm.version")).append('\n');
    inputs.append(String.join(" ", jvmOptions)).append('\n');
    for (String entry : classPath.split(File.pathSeparator)) {
      inputs.append(entry);
      try {
        BasicFileAttributes attributes = Files.readAttributes(Path.of(entry), BasicFileAttributes.class);
        inputs.append(' ').append(attributes.size()).append(' ').append(attributes.lastModifiedTime().toMillis());
      } catch (IOException | RuntimeException e) {
        inputs.append(" missing");
      }
      inputs.append('\n');
    }
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(inputs.toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(hash, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }
}
