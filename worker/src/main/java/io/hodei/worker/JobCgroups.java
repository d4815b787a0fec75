package io.hodei.worker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cgroups this worker can make for its jobs: one cgroup per job, a child of the worker's own
 * cgroup in each hierarchy it may write to. Supports the three layouts Linux machines have:
 *
 * <ul>
 *   <li><b>v2</b> (unified): one directory per job; limits in {@code cpu.max}, {@code memory.max}
 *       and {@code pids.max} when the worker's cgroup delegates those controllers; the kill is
 *       {@code cgroup.kill}. A v2 cgroup with controllers enabled for its children may hold no
 *       process itself, so the worker first moves itself into a leaf {@code self} of its cgroup
 *       and enables the controllers on the parent (the "delegated subtree" layout).
 *   <li><b>v1</b>: a directory per job in each of the {@code cpu}, {@code memory}, {@code pids}
 *       and {@code freezer} hierarchies that are mounted and writable; the kill freezes the job,
 *       sends SIGKILL to each member and thaws it, so no member can fork while it is being
 *       killed.
 *   <li><b>hybrid</b> (v1 controllers and an empty v2 at {@code /sys/fs/cgroup/unified}): limits
 *       from v1, membership and the kill from v2 ({@code cgroup.kill} works without controllers).
 * </ul>
 *
 * <p>Detected once from {@code /proc/self/mountinfo} and {@code /proc/self/cgroup}; a probe
 * directory proves that each hierarchy is writable. What cannot be used is named in {@link
 * #missing()}, for the worker's isolation report.
 *
 * <p>Thread-safe: immutable after {@link #detect}; each {@link JobCgroup} belongs to one job.
 */
public final class JobCgroups {
  private static final Logger log = LoggerFactory.getLogger(JobCgroups.class);
  private static final List<String> V1_CONTROLLERS = List.of("cpu", "memory", "pids", "freezer");
  private static final long CPU_PERIOD_MICROS = 100_000;
  private static final Duration KILL_WAIT = Duration.ofSeconds(10);

  /** The worker's own cgroup directory in each usable v1 hierarchy, by controller. */
  private final Map<String, Path> v1;
  /** The worker's own v2 cgroup directory, if the unified hierarchy is mounted and writable. */
  private final Optional<Path> v2;
  /** The v2 controllers enabled for the worker's child cgroups. */
  private final Set<String> v2Controllers;
  private final List<String> missing;

  private JobCgroups(Map<String, Path> v1, Optional<Path> v2, Set<String> v2Controllers, List<String> missing) {
    this.v1 = Map.copyOf(v1);
    this.v2 = v2;
    this.v2Controllers = Set.copyOf(v2Controllers);
    this.missing = List.copyOf(missing);
  }

  /** None at all: every job runs in the worker's cgroup. */
  static JobCgroups none(String why) {
    return new JobCgroups(Map.of(), Optional.empty(), Set.of(), List.of(why));
  }

  /** What this machine offers this process, read from {@code /proc/self}. */
  public static JobCgroups detect() {
    try {
      return detect(
          Files.readAllLines(Path.of("/proc/self/mountinfo")), Files.readAllLines(Path.of("/proc/self/cgroup")));
    } catch (IOException e) {
      return none("no per-job cgroups: cannot read /proc/self: " + e.getMessage());
    }
  }

  static JobCgroups detect(List<String> mountinfo, List<String> cgroupLines) {
    Map<String, Path> v1 = new LinkedHashMap<>();
    Optional<Path> v2 = Optional.empty();
    Map<String, String> ownPaths = new LinkedHashMap<>(); // controller (or "" for v2) -> path
    for (String line : cgroupLines) {
      String[] parts = line.split(":", 3);
      if (parts.length < 3) {
        continue;
      }
      if (parts[1].isEmpty()) {
        ownPaths.put("", parts[2]);
      } else {
        for (String controller : parts[1].split(",")) {
          ownPaths.put(controller, parts[2]);
        }
      }
    }
    for (String line : mountinfo) {
      // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
      int dash = line.indexOf(" - ");
      if (dash < 0) {
        continue;
      }
      String[] before = line.substring(0, dash).split(" ");
      String[] after = line.substring(dash + 3).split(" ");
      if (before.length < 5 || after.length < 3) {
        continue;
      }
      String root = unescape(before[3]);
      Path mountPoint = Path.of(unescape(before[4]));
      boolean readOnly = List.of(before[5].split(",")).contains("ro");
      if (after[0].equals("cgroup2") && ownPaths.containsKey("") && !readOnly) {
        v2 = Optional.of(within(mountPoint, root, ownPaths.get("")));
      } else if (after[0].equals("cgroup") && !readOnly) {
        for (String option : after[2].split(",")) {
          if (V1_CONTROLLERS.contains(option) && ownPaths.containsKey(option)) {
            v1.putIfAbsent(option, within(mountPoint, root, ownPaths.get(option)));
          }
        }
      }
    }
    List<String> missing = new ArrayList<>();
    v1.entrySet().removeIf(e -> !writable(e.getValue(), "v1 " + e.getKey(), missing));
    if (v2.isPresent() && !writable(v2.get(), "v2", missing)) {
      v2 = Optional.empty();
    }
    Set<String> v2Controllers = Set.of();
    if (v2.isPresent()) {
      v2Controllers = delegate(v2.get(), v1.keySet());
      if (!v2Controllers.isEmpty()) {
        // After the move the worker lives in <own>/worker; its jobs stay children of <own>.
        log.info("cgroup v2: controllers {} delegated to job cgroups under {}", v2Controllers, v2.get());
      }
    }
    for (String controller : List.of("memory", "pids", "cpu")) {
      if (!v1.containsKey(controller) && !v2Controllers.contains(controller)) {
        missing.add("no " + controller + " controller for job cgroups: the job's " + controller + " limit is not enforced");
      }
    }
    if (v2.isEmpty() && !v1.containsKey("freezer")) {
      missing.add(
          "neither cgroup.kill (v2) nor the v1 freezer: a job's processes are killed one by one, so one forking"
              + " fast enough could escape");
    }
    return new JobCgroups(v1, v2, v2Controllers, missing);
  }

  /** The worker's cgroup directory: the mount point plus its path below the mount's root. */
  private static Path within(Path mountPoint, String mountRoot, String ownPath) {
    String relative = ownPath;
    if (!mountRoot.equals("/") && relative.startsWith(mountRoot)) {
      relative = relative.substring(mountRoot.length());
    }
    relative = relative.replaceFirst("^/+", "");
    return relative.isEmpty() ? mountPoint : mountPoint.resolve(relative);
  }

  /** Whether a child cgroup can be made (and removed) there; if not, says so in {@code missing}. */
  private static boolean writable(Path dir, String what, List<String> missing) {
    Path probe = dir.resolve("hodei-probe-" + ProcessHandle.current().pid());
    try {
      Files.createDirectory(probe);
      Files.delete(probe);
      return true;
    } catch (IOException e) {
      missing.add("cannot make " + what + " cgroups under " + dir + " (" + e.getClass().getSimpleName() + ")");
      return false;
    }
  }

  /**
   * Enables the controllers v1 does not already provide on the worker's v2 cgroup for its
   * children, first moving the worker into a leaf of its own; returns those enabled.
   */
  private static Set<String> delegate(Path own, Set<String> fromV1) {
    List<String> wanted = new ArrayList<>();
    try {
      Set<String> available = Set.of(Files.readString(own.resolve("cgroup.controllers")).strip().split("\\s+"));
      for (String controller : List.of("cpu", "memory", "pids")) {
        if (available.contains(controller) && !fromV1.contains(controller)) {
          wanted.add(controller);
        }
      }
      if (wanted.isEmpty()) {
        return Set.of();
      }
      Path leaf = own.resolve("self");
      Files.createDirectories(leaf);
      Files.writeString(leaf.resolve("cgroup.procs"), Long.toString(ProcessHandle.current().pid()));
      StringBuilder enable = new StringBuilder();
      for (String controller : wanted) {
        enable.append('+').append(controller).append(' ');
      }
      Files.writeString(own.resolve("cgroup.subtree_control"), enable.toString().strip());
      return Set.copyOf(wanted);
    } catch (IOException | RuntimeException e) {
      log.info("cgroup v2 controllers {} not delegated under {}: {}", wanted, own, e.toString());
      return Set.of();
    }
  }

  /** What job cgroups cannot do here, in words for the isolation report; empty if nothing. */
  public List<String> missing() {
    return missing;
  }

  /** Whether a job's cgroup can hold a pids limit. */
  boolean limitsPids() {
    return v1.containsKey("pids") || v2Controllers.contains("pids");
  }

  /** Whether child cgroups can be made at all. */
  public boolean available() {
    return v2.isPresent() || !v1.isEmpty();
  }

  /**
   * Makes the cgroup of one job, named {@code name} in every usable hierarchy, with the limits
   * given (zero: none of that kind).
   */
  public JobCgroup create(String name, double cpuCores, long memoryBytes, long pidsMax) throws IOException {
    // Only the hierarchies this job needs: making and removing a cgroup is most of its cost
    // (the memory controller's most of all). v2, where mounted, holds the membership and the kill.
    Set<String> needed = new java.util.HashSet<>();
    if (pidsMax > 0) {
      needed.add("pids");
    }
    if (memoryBytes > 0) {
      needed.add("memory");
    }
    if (cpuCores > 0) {
      needed.add("cpu");
    }
    if (v2.isEmpty()) {
      needed.add(v1.containsKey("freezer") ? "freezer" : v1.keySet().stream().findFirst().orElse("freezer"));
    }
    return create(name, needed, cpuCores, memoryBytes, pidsMax, false);
  }

  /**
   * Makes the cgroup {@code name} in every usable hierarchy, without limits: for a cgroup other
   * processes will make theirs below (a local worker's, under which it makes its jobs').
   */
  public JobCgroup createEverywhere(String name) throws IOException {
    return create(name, v1.keySet(), 0, 0, 0, true);
  }

  private JobCgroup create(
      String name, Set<String> controllers, double cpuCores, long memoryBytes, long pidsMax, boolean nested)
      throws IOException {
    List<Path> dirs = new ArrayList<>();
    Map<String, Path> made = new LinkedHashMap<>();
    v1.forEach((controller, parent) -> {
      if (controllers.contains(controller)) {
        made.put(controller, parent);
      }
    });
    JobCgroup cgroup =
        new JobCgroup(
            name,
            dirs,
            made.containsKey("freezer") ? Optional.of(made.get("freezer").resolve(name)) : Optional.empty(),
            v2.map(p -> p.resolve(name)),
            nested);
    try {
      for (Path parent : made.values()) {
        dirs.add(mkdir(parent.resolve(name)));
      }
      if (v2.isPresent()) {
        dirs.add(mkdir(v2.get().resolve(name)));
      }
      if (pidsMax > 0) {
        write(limitFile("pids", "pids.max", name), Long.toString(pidsMax));
      }
      if (memoryBytes > 0) {
        write(v1.containsKey("memory")
            ? Optional.of(v1.get("memory").resolve(name).resolve("memory.limit_in_bytes"))
            : limitFile("memory", "memory.max", name), Long.toString(memoryBytes));
        limitFile("memory", "memory.swap.max", name).filter(Files::exists).ifPresent(f -> writeQuietly(f, "0"));
      }
      if (cpuCores > 0) {
        long quota = Math.max(1000, Math.round(cpuCores * CPU_PERIOD_MICROS));
        if (v1.containsKey("cpu")) {
          Path dir = v1.get("cpu").resolve(name);
          write(Optional.of(dir.resolve("cpu.cfs_period_us")), Long.toString(CPU_PERIOD_MICROS));
          write(Optional.of(dir.resolve("cpu.cfs_quota_us")), Long.toString(quota));
        } else {
          write(limitFile("cpu", "cpu.max", name), quota + " " + CPU_PERIOD_MICROS);
        }
      }
      return cgroup;
    } catch (IOException | RuntimeException e) {
      cgroup.remove();
      throw e;
    }
  }

  /**
   * The cgroup {@code name} as it exists (made by {@link #create} in this or an earlier run of
   * this process's program), without creating or touching it; its directories may be missing.
   */
  public JobCgroup existing(String name) {
    List<Path> dirs = new ArrayList<>();
    v1.values().forEach(parent -> dirs.add(parent.resolve(name)));
    v2.ifPresent(parent -> dirs.add(parent.resolve(name)));
    return new JobCgroup(
        name, dirs, Optional.ofNullable(v1.get("freezer")).map(p -> p.resolve(name)), v2.map(p -> p.resolve(name)), true);
  }

  /** The file of a v1 controller's limit, or its v2 counterpart; empty if neither is there. */
  private Optional<Path> limitFile(String controller, String v2File, String name) {
    if (v1.containsKey(controller)) {
      return Optional.of(v1.get(controller).resolve(name).resolve(controller + ".max"));
    }
    if (v2.isPresent() && v2Controllers.contains(controller)) {
      return Optional.of(v2.get().resolve(name).resolve(v2File));
    }
    return Optional.empty();
  }

  private static Path mkdir(Path dir) throws IOException {
    try {
      Files.createDirectory(dir);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      // A leftover of an earlier run with the same execution id: reuse it, after emptying it.
      new JobCgroup(dir.getFileName().toString(), List.of(dir), Optional.empty(), Optional.empty(), true).killAll();
    }
    return dir;
  }

  private static void write(Optional<Path> file, String value) throws IOException {
    if (file.isPresent()) {
      Files.writeString(file.get(), value);
    }
  }

  private static void writeQuietly(Path file, String value) {
    try {
      Files.writeString(file, value);
    } catch (IOException e) {
      log.debug("could not write {} to {}: {}", value, file, e.toString());
    }
  }

  private static String unescape(String mountinfoField) {
    return mountinfoField.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
  }

  /**
   * One job's cgroup: a directory in each hierarchy. Its members are the job's processes and
   * the sandbox's helpers; {@link #killAll} ends every one of them.
   */
  public static final class JobCgroup {
    private final String name;
    private final List<Path> dirs;
    private final Optional<Path> freezer;
    private final Optional<Path> unified;
    /**
     * Whether cgroups may exist below it (a worker's, holding its jobs'): then every look at its
     * members and its removal walk the tree; a job's has none, and its look reads one file.
     */
    private final boolean nested;

    private JobCgroup(String name, List<Path> dirs, Optional<Path> freezer, Optional<Path> unified, boolean nested) {
      this.name = name;
      this.dirs = dirs;
      this.freezer = freezer;
      this.unified = unified;
      this.nested = nested;
    }

    public String name() {
      return name;
    }

    /** The {@code cgroup.procs} files a process writes its pid into to join the job. */
    List<Path> procsFiles() {
      return dirs.stream().map(d -> d.resolve("cgroup.procs")).toList();
    }

    /** Moves process {@code pid} (all its threads) into this cgroup, in every hierarchy. */
    public void join(long pid) throws IOException {
      for (Path procs : procsFiles()) {
        Files.writeString(procs, Long.toString(pid));
      }
    }

    /**
     * The pids in the cgroup and in the cgroups below it, now (from one hierarchy: every member
     * joins all of them).
     */
    List<Long> members() {
      if (dirs.isEmpty()) {
        return List.of();
      }
      List<Long> pids = new ArrayList<>();
      Path top = unified.orElse(dirs.getFirst());
      for (Path dir : nested ? tree(top) : List.of(top)) {
        Path procs = dir.resolve("cgroup.procs");
        try {
          for (String line : Files.readAllLines(procs, StandardCharsets.US_ASCII)) {
            if (!line.isBlank()) {
              pids.add(Long.parseLong(line.strip()));
            }
          }
        } catch (NoSuchFileException e) {
          // removed meanwhile
        } catch (IOException | NumberFormatException e) {
          log.warn("cannot read {}: {}", procs, e.toString());
        }
      }
      return pids;
    }

    /** {@code dir} and the cgroups below it, deepest first. */
    private static List<Path> tree(Path dir) {
      List<Path> all = new ArrayList<>();
      try (var walk = Files.walk(dir)) {
        walk.filter(Files::isDirectory).forEach(all::add);
      } catch (IOException | java.io.UncheckedIOException e) {
        log.debug("cannot walk {}: {}", dir, e.toString());
        all.add(dir);
      }
      return all.reversed();
    }

    /**
     * SIGKILL to every member, with no chance to fork away: {@code cgroup.kill} on v2, else the
     * v1 freezer (freeze, kill each, thaw), else each member in turn until none is left. Waits
     * (up to 10 s) until the cgroup is empty; true if it is.
     */
    public boolean killAll() {
      long deadline = System.nanoTime() + KILL_WAIT.toNanos();
      boolean killedByKernel = false;
      if (unified.isPresent() && Files.exists(unified.get().resolve("cgroup.kill"))) {
        try {
          Files.writeString(unified.get().resolve("cgroup.kill"), "1");
          killedByKernel = true;
        } catch (IOException e) {
          log.warn("cgroup.kill of {} failed: {}", unified.get(), e.toString());
        }
      }
      boolean frozen = false;
      if (!killedByKernel && freezer.isPresent()) {
        frozen = freeze(freezer.get(), deadline);
      }
      try {
        List<Long> left = members();
        while (!left.isEmpty() && System.nanoTime() - deadline < 0) {
          if (!killedByKernel) {
            left.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
          }
          if (frozen) {
            writeState(freezer.get(), "THAWED"); // killed processes die only once thawed
            frozen = false;
          }
          sleepBriefly();
          left = members();
        }
        if (!left.isEmpty()) {
          log.warn("processes {} of job cgroup {} survived SIGKILL for {}", left, name, KILL_WAIT);
          return false;
        }
        return true;
      } finally {
        if (frozen) {
          writeState(freezer.get(), "THAWED");
        }
      }
    }

    private static boolean freeze(Path dir, long deadline) {
      if (!writeState(dir, "FROZEN")) {
        return false;
      }
      try {
        while (!Files.readString(dir.resolve("freezer.state")).strip().equals("FROZEN")) {
          if (System.nanoTime() - deadline > 0) {
            return true; // killing anyway; thawed afterwards
          }
          sleepBriefly();
        }
      } catch (IOException e) {
        log.debug("cannot read {}: {}", dir, e.toString());
      }
      return true;
    }

    private static boolean writeState(Path dir, String state) {
      try {
        Files.writeString(dir.resolve("freezer.state"), state);
        return true;
      } catch (IOException e) {
        log.warn("cannot set {} to {}: {}", dir, state, e.toString());
        return false;
      }
    }

    /** Kills what is left and removes the directories, with any cgroups below them; never throws. */
    public void remove() {
      if (!members().isEmpty()) {
        killAll();
      }
      for (Path top : dirs.reversed()) {
        for (Path dir : nested ? tree(top) : List.of(top)) {
          try {
            Files.deleteIfExists(dir);
          } catch (IOException e) {
            log.warn("cannot remove cgroup {}: {}", dir, e.toString());
          }
        }
      }
    }

    /** A killed process is gone within microseconds to a few milliseconds: poll finely. */
    private static void sleepBriefly() {
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
