package io.hodei.worker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kills a job's process together with everything it started: the one place the worker ends
 * processes.
 *
 * <p>The descendants are listed while the root still runs (once it is gone they are re-parented
 * and can no longer be found), then everyone gets SIGTERM, and whoever still runs after the grace
 * period gets SIGKILL. Zombies (dead, waiting to be reaped by a parent that is itself gone) count
 * as ended.
 */
final class ProcessTree {
  private static final Logger log = LoggerFactory.getLogger(ProcessTree.class);
  private static final Duration POLL = Duration.ofMillis(20);

  private ProcessTree() {}

  /** Blocks until the tree is gone or has been sent SIGKILL. */
  static void kill(ProcessHandle root, Duration gracePeriod) throws InterruptedException {
    List<ProcessHandle> tree = new ArrayList<>();
    tree.add(root);
    root.descendants().forEach(tree::add);
    for (ProcessHandle process : tree) {
      process.destroy();
    }
    // Children that were being forked while we listed: one more look, now that the root got TERM.
    root.descendants().filter(p -> !tree.contains(p)).forEach(p -> {
      tree.add(p);
      p.destroy();
    });
    long deadline = System.nanoTime() + gracePeriod.toNanos();
    while (tree.stream().anyMatch(ProcessTree::isRunning) && System.nanoTime() < deadline) {
      Thread.sleep(POLL);
    }
    List<ProcessHandle> stubborn = tree.stream().filter(ProcessTree::isRunning).toList();
    if (!stubborn.isEmpty()) {
      log.info(
          "{} process(es) still running {} after SIGTERM, sending SIGKILL: {}",
          stubborn.size(), gracePeriod, stubborn.stream().map(ProcessHandle::pid).toList());
      stubborn.forEach(ProcessHandle::destroyForcibly);
    }
  }

  /** Alive and not a zombie. */
  static boolean isRunning(ProcessHandle process) {
    if (!process.isAlive()) {
      return false;
    }
    Path stat = Path.of("/proc", Long.toString(process.pid()), "stat");
    try {
      String text = Files.readString(stat, StandardCharsets.ISO_8859_1);
      // Format: "pid (comm) S ...": the state follows the last ')'; comm may hold ')' itself.
      int end = text.lastIndexOf(')');
      return end < 0 || end + 2 >= text.length() || text.charAt(end + 2) != 'Z';
    } catch (NoSuchFileException e) {
      return !Files.isDirectory(Path.of("/proc", "self")) && process.isAlive();
    } catch (IOException e) {
      log.debug("can't read {}, trusting isAlive: {}", stat, e.toString());
      return process.isAlive();
    }
  }
}
