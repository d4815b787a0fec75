package io.hodei.worker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongPredicate;

/**
 * Reads the counters of the worker's own cgroup: cpu time, memory, block I/O and tasks.
 *
 * <p>cgroup v2 (a unified hierarchy, {@code cgroup.controllers} at its root) is read from {@code
 * cpu.stat} ({@code usage_usec}), {@code memory.current}, {@code io.stat} ({@code rbytes} and
 * {@code wbytes} of every device) and {@code pids.current}. cgroup v1 is read from {@code
 * cpuacct/cpuacct.usage}, {@code memory/memory.usage_in_bytes}, {@code
 * blkio/blkio.throttle.io_service_bytes} ({@code Read} and {@code Write} of every device) and
 * {@code pids/pids.current}, each in the worker's cgroup of that controller. A hybrid machine (v1
 * controllers and an empty unified hierarchy) counts as v1.
 *
 * <p>The worker's cgroup is the path {@code /proc/self/cgroup} names under the hierarchy's root.
 * Where that path does not exist under the mount, the mount itself is taken: inside a container the
 * hierarchy's root is the container's own cgroup, while {@code /proc/self/cgroup} may still name
 * the host's path. A worker in the root cgroup reads the root's counters, which are the whole
 * machine's.
 *
 * <p>A cgroup is the worker's own only if every process in it ({@code cgroup.procs}) is one of the
 * worker's (see {@link #read(LongPredicate)}): workers started as child processes of {@code hodei
 * dev} share its cgroup with it, with one another and with whatever else runs in the user's
 * session, and that cgroup's counters would describe them all. Figures of a shared cgroup read as
 * {@link #UNKNOWN}.
 *
 * <p>Every figure the machine does not offer (a controller not mounted, a file missing or
 * unreadable, as {@code memory.current} and {@code pids.current} are in a v2 root) reads as {@link
 * #UNKNOWN}; {@link #read} never throws. Immutable and thread-safe; every read goes to the files
 * anew.
 */
final class CgroupMetrics {
  /** A figure the machine does not offer. */
  static final long UNKNOWN = -1;

  enum Version {
    V1,
    V2
  }

  /**
   * Cumulative cpu time and I/O bytes, current memory and tasks of the cgroup; each may be {@link
   * #UNKNOWN}.
   */
  record Counters(
      long cpuUsageNanos, long memoryBytes, long ioReadBytes, long ioWriteBytes, long pids) {}

  private final Version version;
  private final Optional<Path> cpu;
  private final Optional<Path> memory;
  private final Optional<Path> io;
  private final Optional<Path> pids;

  private CgroupMetrics(
      Version version,
      Optional<Path> cpu,
      Optional<Path> memory,
      Optional<Path> io,
      Optional<Path> pids) {
    this.version = version;
    this.cpu = cpu;
    this.memory = memory;
    this.io = io;
    this.pids = pids;
  }

  /** The cgroup of this process, under {@code /sys/fs/cgroup}. */
  static Optional<CgroupMetrics> ofThisProcess() {
    return detect(Path.of("/sys/fs/cgroup"), Path.of("/proc/self/cgroup"));
  }

  /**
   * The cgroup {@code procSelfCgroup} (a file in the format of {@code /proc/self/cgroup}) names
   * under {@code root}; empty when neither hierarchy is mounted there or the file is unreadable.
   */
  static Optional<CgroupMetrics> detect(Path root, Path procSelfCgroup) {
    Map<String, String> paths;
    try {
      paths = membership(Files.readAllLines(procSelfCgroup));
    } catch (IOException e) {
      return Optional.empty();
    }
    if (Files.isRegularFile(root.resolve("cgroup.controllers"))) {
      Optional<Path> dir = Optional.of(within(root, paths.getOrDefault("", "/")));
      return Optional.of(new CgroupMetrics(Version.V2, dir, dir, dir, dir));
    }
    var cpu = controller(root, paths, "cpuacct", List.of("cpuacct", "cpu,cpuacct", "cpuacct,cpu"));
    var memory = controller(root, paths, "memory", List.of("memory"));
    var io = controller(root, paths, "blkio", List.of("blkio"));
    var pids = controller(root, paths, "pids", List.of("pids"));
    if (cpu.isEmpty() && memory.isEmpty() && io.isEmpty() && pids.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(new CgroupMetrics(Version.V1, cpu, memory, io, pids));
  }

  Version version() {
    return version;
  }

  /** The directory read for cpu time, for log lines. */
  String describe() {
    return version + " " + cpu.or(() -> memory).map(Path::toString).orElse("(no cpu or memory)");
  }

  /** The counters of the cgroup, shared or not. */
  Counters read() {
    return read(pid -> true);
  }

  /**
   * The counters of the cgroup, each only if every process in its controller's cgroup passes {@code
   * ours} (or {@code cgroup.procs} can't be read); else {@link #UNKNOWN}.
   */
  Counters read(LongPredicate ours) {
    Optional<Path> cpu = this.cpu.filter(d -> holdsOnly(d, ours));
    Optional<Path> memory = this.memory.filter(d -> holdsOnly(d, ours));
    Optional<Path> io = this.io.filter(d -> holdsOnly(d, ours));
    Optional<Path> pids = this.pids.filter(d -> holdsOnly(d, ours));
    return switch (version) {
      case V2 ->
          new Counters(
              cpu.map(d -> keyed(d.resolve("cpu.stat"), "usage_usec"))
                  .map(usec -> usec == UNKNOWN ? UNKNOWN : usec * 1000)
                  .orElse(UNKNOWN),
              memory.map(d -> number(d.resolve("memory.current"))).orElse(UNKNOWN),
              io.map(d -> ioStatV2(d.resolve("io.stat"), "rbytes=")).orElse(UNKNOWN),
              io.map(d -> ioStatV2(d.resolve("io.stat"), "wbytes=")).orElse(UNKNOWN),
              pids.map(d -> number(d.resolve("pids.current"))).orElse(UNKNOWN));
      case V1 ->
          new Counters(
              cpu.map(d -> number(d.resolve("cpuacct.usage"))).orElse(UNKNOWN),
              memory.map(d -> number(d.resolve("memory.usage_in_bytes"))).orElse(UNKNOWN),
              io.map(d -> blkioV1(d.resolve("blkio.throttle.io_service_bytes"), "Read"))
                  .orElse(UNKNOWN),
              io.map(d -> blkioV1(d.resolve("blkio.throttle.io_service_bytes"), "Write"))
                  .orElse(UNKNOWN),
              pids.map(d -> number(d.resolve("pids.current"))).orElse(UNKNOWN));
    };
  }

  private static boolean holdsOnly(Path dir, LongPredicate ours) {
    List<String> members;
    try {
      members = Files.readAllLines(dir.resolve("cgroup.procs"));
    } catch (IOException e) {
      return true; // can't tell: taken as the worker's
    }
    for (String member : members) {
      try {
        if (!member.isBlank() && !ours.test(Long.parseLong(member.strip()))) {
          return false;
        }
      } catch (NumberFormatException e) {
        return false;
      }
    }
    return true;
  }

  // ---- /proc/self/cgroup ----

  /**
   * Controller → path, from lines {@code id:controllers:path}; a v1 line listing several
   * controllers ({@code 4:cpu,cpuacct:/x}) gives each of them; the v2 line ({@code 0::/x}) gives
   * the key "".
   */
  private static Map<String, String> membership(List<String> lines) {
    Map<String, String> paths = new HashMap<>();
    for (String line : lines) {
      String[] parts = line.split(":", 3);
      if (parts.length < 3) {
        continue;
      }
      if (parts[1].isEmpty()) {
        paths.put("", parts[2]);
      } else {
        for (String controller : parts[1].split(",")) {
          paths.put(controller, parts[2]);
        }
      }
    }
    return paths;
  }

  private static Optional<Path> controller(
      Path root, Map<String, String> paths, String name, List<String> mountNames) {
    for (String mountName : mountNames) {
      Path mount = root.resolve(mountName);
      if (Files.isDirectory(mount)) {
        return Optional.of(within(mount, paths.getOrDefault(name, "/")));
      }
    }
    return Optional.empty();
  }

  /** {@code path} under {@code mount} if it is a directory there, else the mount itself. */
  private static Path within(Path mount, String path) {
    String relative = path.strip().replaceFirst("^/+", "");
    if (relative.isEmpty()) {
      return mount;
    }
    Path candidate = mount.resolve(relative).normalize();
    return candidate.startsWith(mount) && Files.isDirectory(candidate) ? candidate : mount;
  }

  // ---- Files ----

  /** A file holding one number. */
  static long number(Path file) {
    try {
      return Long.parseLong(Files.readString(file).strip());
    } catch (IOException | NumberFormatException e) {
      return UNKNOWN;
    }
  }

  /** The value of {@code key value} in a flat-keyed file such as {@code cpu.stat}. */
  static long keyed(Path file, String key) {
    try {
      for (String line : Files.readAllLines(file)) {
        String[] parts = line.strip().split("\\s+");
        if (parts.length == 2 && parts[0].equals(key)) {
          return Long.parseLong(parts[1]);
        }
      }
    } catch (IOException | NumberFormatException e) {
      return UNKNOWN;
    }
    return UNKNOWN;
  }

  /** The sum over devices of {@code field} ({@code rbytes=}) in lines {@code 8:0 rbytes=1 ...}. */
  private static long ioStatV2(Path file, String field) {
    try {
      long sum = 0;
      for (String line : Files.readAllLines(file)) {
        for (String part : line.strip().split("\\s+")) {
          if (part.startsWith(field)) {
            sum += Long.parseLong(part.substring(field.length()));
          }
        }
      }
      return sum;
    } catch (IOException | NumberFormatException e) {
      return UNKNOWN;
    }
  }

  /** The sum over devices of lines {@code 8:0 Read 4096}; the closing {@code Total} is skipped. */
  private static long blkioV1(Path file, String operation) {
    try {
      long sum = 0;
      for (String line : Files.readAllLines(file)) {
        String[] parts = line.strip().split("\\s+");
        if (parts.length == 3 && parts[1].equals(operation)) {
          sum += Long.parseLong(parts[2]);
        }
      }
      return sum;
    } catch (IOException | NumberFormatException e) {
      return UNKNOWN;
    }
  }
}
