package io.hodei.worker;

import io.hodei.api.v1.RunJobCommand;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a job runs, apart from the worker and from every other job. Each job gets, as far as the
 * machine allows (what it does not is named in {@link #degraded()}):
 *
 * <ol>
 *   <li><b>A uid of its own</b> ({@link JobUids}), with the gid of the same number and no
 *       supplementary groups, no capabilities, an empty bounding set and {@code no_new_privs}
 *       ({@code setpriv}). A job can therefore read no file of the worker's user, signal or trace
 *       no process of it or of another job, and read no other job's {@code /proc} entries.
 *   <li><b>A private directory</b> {@code <root>/<execution>}, mode 0700, owned by the job's uid,
 *       holding its script and its working directory {@code work/}; deleted after the job.
 *   <li><b>A clean environment</b>: what its spec sets over {@code PATH} (the worker's), {@code
 *       HOME} and {@code HODEI_WORKSPACE} (the working directory), {@code TMPDIR=/tmp}, {@code
 *       LANG=C.UTF-8}, {@code HODEI_JOB_ID}, {@code HODEI_EXECUTION_ID} and {@code HODEI_ATTEMPT}.
 *       Nothing of the worker's own environment.
 *   <li><b>A cgroup of its own</b> ({@link JobCgroups}) with the job's cpu and memory request as
 *       limits and a pids limit; every process in it is killed when the job ends.
 *   <li><b>A sandbox</b> ({@code bwrap}): its own pid namespace (it sees only its own processes,
 *       and when its first process exits the kernel kills every other one), its own IPC and UTS
 *       namespaces, and a file system of only the system directories, read-only ({@code /usr},
 *       {@code /etc}, …), fresh {@code /proc}, {@code /dev}, {@code /tmp}, {@code /var/tmp} and
 *       {@code /run}, and its own directory at {@code /job}. The data directory, the TLS
 *       directory, home directories and the worker's files are not there at all. With {@code
 *       --die-with-parent} the sandbox dies with the worker process, so a worker killed with
 *       SIGKILL leaves no job running. Where bwrap cannot run but the worker holds {@code
 *       CAP_SYS_ADMIN} (a Docker container's default seccomp profile refuses bwrap's {@code
 *       pivot_root}), {@link MountNamespaceSandbox} gives the same from {@code unshare} and {@code
 *       mount}.
 * </ol>
 *
 * <p>The chain that starts a job: {@code sh} (writes its own pid into the job's cgroup, so that
 * everything after it is inside before the job's code runs) → {@code bwrap} (or the mount
 * namespace's chain) → {@code setpriv} → the program. Each step execs the next; only bwrap forks (its pid 1 and the job).
 *
 * <p>Thread-safe: the uid pool is synchronised; each {@link Job} belongs to one execution.
 */
final class JobSandbox {
  private static final Logger log = LoggerFactory.getLogger(JobSandbox.class);

  static final String ENV_ISOLATION = "HODEI_JOB_ISOLATION";
  static final String ENV_UIDS = "HODEI_JOB_UIDS";
  static final String ENV_PIDS_MAX = "HODEI_JOB_PIDS_MAX";
  static final String ENV_ROOT = "HODEI_JOB_ROOT";
  static final String ENV_BIND = "HODEI_JOB_READ_ONLY_PATHS";
  /** Which sandbox: {@code auto} (bwrap, else mount namespaces), {@code bwrap} or {@code mount-namespace}. */
  static final String ENV_SANDBOX = "HODEI_JOB_SANDBOX";
  /**
   * {@code remount}: the cgroup file systems are mounted read-only in the worker's mount namespace
   * (a container's) and the worker may make them writable there, for its jobs' cgroups.
   */
  static final String ENV_CGROUPS = "HODEI_JOB_CGROUPS";
  static final String DEFAULT_UIDS = "190000-199999";
  static final long DEFAULT_PIDS_MAX = 1024;
  private static final Duration UID_PATIENCE = Duration.ofSeconds(30);
  /** Where the job's own directory appears inside the sandbox. */
  static final String SANDBOX_JOB_DIR = "/job";

  private static final List<String> SYSTEM_PATHS =
      List.of("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt");
  private static final List<String> FRESH_MOUNTS =
      List.of("--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm",
          "--perms", "1777", "--tmpfs", "/tmp", "--dir", "/var", "--perms", "1777", "--tmpfs", "/var/tmp", "--tmpfs", "/run");
  private static final String JOIN_CGROUP =
      "while [ \"$1\" != -- ]; do echo $$ >\"$1\" || exit 125; shift; done; shift; exec \"$@\"";
  private static final int CAP_CHOWN = 0;
  private static final int CAP_DAC_OVERRIDE = 1;
  private static final int CAP_FOWNER = 3;
  private static final int CAP_KILL = 5;
  private static final int CAP_SETGID = 6;
  private static final int CAP_SETUID = 7;
  private static final int CAP_SETPCAP = 8;
  private static final int CAP_SYS_CHROOT = 18;
  private static final int CAP_SYS_ADMIN = 21;

  private final Path root;
  private final Optional<JobUids> uids;
  private final Optional<Path> setpriv;
  private final Optional<Path> bwrap;
  /** The sandbox where bwrap cannot run; never present with {@link #bwrap}. */
  private final Optional<MountNamespaceSandbox> mountNamespace;
  private final Path shell;
  private final JobCgroups cgroups;
  private final long pidsMax;
  /**
   * Without a pids controller, the pids limit of a job under a uid of its own is that uid's
   * {@code RLIMIT_NPROC}, set by {@code prlimit} before it drops to the uid.
   */
  private final Optional<Path> prlimit;
  private final List<String> readOnlyPaths;
  /** The sandbox's file system as bwrap arguments, worked out once: the same for every job. */
  private final List<String> fileSystem;
  private final String path;
  private final List<String> degraded;

  private JobSandbox(
      Path root,
      Optional<JobUids> uids,
      Optional<Path> setpriv,
      Optional<Path> bwrap,
      Optional<MountNamespaceSandbox> mountNamespace,
      Path shell,
      JobCgroups cgroups,
      long pidsMax,
      List<String> readOnlyPaths,
      String path,
      List<String> degraded) {
    this.root = root;
    this.uids = uids;
    this.setpriv = setpriv;
    this.bwrap = bwrap;
    this.mountNamespace = mountNamespace;
    this.shell = shell;
    this.cgroups = cgroups;
    this.pidsMax = pidsMax;
    this.prlimit = uids.isPresent() && !cgroups.limitsPids() ? Executables.find("prlimit", path) : Optional.empty();
    this.readOnlyPaths = List.copyOf(readOnlyPaths);
    this.fileSystem = fileSystemArguments(this.readOnlyPaths);
    this.path = path;
    this.degraded = List.copyOf(degraded);
  }

  /**
   * Looks at what this machine and the worker's privileges allow and sets up what it can. {@code
   * env} is the worker's environment ({@value #ENV_ISOLATION}{@code =off} turns everything off,
   * for a machine where it cannot work; the worker then says so in its isolation report).
   */
  static JobSandbox detect(Map<String, String> env, Path workerTempRoot) {
    String workerPath = env.getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin");
    Path root = Path.of(env.getOrDefault(ENV_ROOT, workerTempRoot + "-jobs"));
    Path shell = Executables.find("sh", workerPath).orElse(Path.of("/bin/sh"));
    long pidsMax = parsePidsMax(env.get(ENV_PIDS_MAX));
    List<String> degraded = new ArrayList<>();
    if ("off".equals(env.getOrDefault(ENV_ISOLATION, "auto").strip())) {
      degraded.add(ENV_ISOLATION + "=off: jobs run as the worker's own user, in its cgroup, without a sandbox");
      trackOrphansWithoutCgroups(false, degraded);
      JobSandbox off = new JobSandbox(root, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), shell,
          JobCgroups.none("off"), pidsMax, List.of(), workerPath, degraded);
      off.prepareRoot();
      return off;
    }
    Optional<Path> setpriv = Executables.find("setpriv", workerPath);
    Optional<JobUids> uids = Optional.empty();
    long caps = effectiveCapabilities();
    List<Integer> needed = List.of(CAP_SETUID, CAP_SETGID, CAP_SETPCAP, CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_KILL);
    List<String> lacking = needed.stream().filter(c -> (caps & (1L << c)) == 0).map(JobSandbox::capName).toList();
    if (!lacking.isEmpty()) {
      degraded.add("jobs run as the worker's own uid: the worker lacks " + String.join(", ", lacking)
          + " (run it as root, or grant those capabilities)");
    } else if (setpriv.isEmpty()) {
      degraded.add("jobs run as the worker's own uid: setpriv (util-linux) is not on the PATH");
    } else {
      try {
        int[] range = JobUids.parseRange(env.getOrDefault(ENV_UIDS, DEFAULT_UIDS), ENV_UIDS);
        Path lockDir = Path.of(env.getOrDefault("HODEI_JOB_UID_LOCKS", "/run/hodei/job-uids"));
        uids = Optional.of(new JobUids(range[0], range[1], lockDir));
      } catch (IOException e) {
        degraded.add("jobs run as the worker's own uid: cannot set up the uid locks: " + e.getMessage());
      }
    }
    if (uids.isPresent() && "remount".equals(env.getOrDefault(ENV_CGROUPS, "").strip())) {
      remountCgroupsWritable(workerPath, (caps & (1L << CAP_SYS_ADMIN)) != 0);
    }
    JobCgroups cgroups = uids.isPresent() ? JobCgroups.detect() : JobCgroups.none("no per-job cgroups: jobs do not run under uids of their own");
    boolean nprocLimit = uids.isPresent() && !cgroups.limitsPids() && Executables.find("prlimit", workerPath).isPresent();
    degraded.addAll(
        cgroups.missing().stream()
            .filter(m -> !m.equals("off"))
            .map(m -> nprocLimit && m.startsWith("no pids controller")
                ? "no pids controller for job cgroups: the job's pids limit is its uid's RLIMIT_NPROC (prlimit)"
                : m)
            .toList());
    if (!cgroups.available()) {
      trackOrphansWithoutCgroups(uids.isPresent(), degraded);
    }
    Optional<Path> bwrap = uids.isPresent() ? Executables.find("bwrap", workerPath) : Optional.empty();
    List<String> readOnly = new ArrayList<>();
    for (String p : SYSTEM_PATHS) {
      readOnly.add(p);
    }
    for (String extra : env.getOrDefault(ENV_BIND, "").split(":")) {
      if (!extra.isBlank()) {
        readOnly.add(extra.strip());
      }
    }
    String which = env.getOrDefault(ENV_SANDBOX, "auto").strip();
    if (!List.of("auto", "bwrap", "mount-namespace").contains(which)) {
      throw new IllegalArgumentException(ENV_SANDBOX + ": expected auto, bwrap or mount-namespace, got '" + which + "'");
    }
    JobSandbox sandbox = new JobSandbox(root, uids, setpriv, which.equals("mount-namespace") ? Optional.empty() : bwrap,
        Optional.empty(), shell, cgroups, pidsMax, readOnly, workerPath, degraded);
    if (uids.isPresent()) {
      List<String> problems = new ArrayList<>();
      if (which.equals("mount-namespace")) {
        problems.add(ENV_SANDBOX + "=mount-namespace");
      } else if (bwrap.isEmpty()) {
        problems.add("bubblewrap (bwrap) is not on the PATH");
      } else {
        sandbox.probeBwrap().ifPresent(problem -> problems.add("bwrap does not work here (" + problem + ")"));
      }
      if (!problems.isEmpty() && !which.equals("bwrap")) {
        Optional<MountNamespaceSandbox> fallback =
            sandbox.mountNamespaceSandbox(env, workerTempRoot, (caps & (1L << CAP_SYS_ADMIN)) != 0, (caps & (1L << CAP_SYS_CHROOT)) != 0, problems);
        if (fallback.isPresent()) {
          log.info("jobs run in mount namespaces of their own, not bwrap: {}", String.join("; ", problems));
          sandbox = sandbox.withSandbox(Optional.empty(), fallback, degraded);
          problems.clear();
        }
      }
      if (!problems.isEmpty()) {
        degraded.add("no sandbox: " + String.join("; ", problems) + ", so jobs share the worker's pid namespace, /tmp and file system view");
        sandbox = sandbox.withSandbox(Optional.empty(), Optional.empty(), degraded);
      }
    }
    sandbox.prepareRoot();
    return sandbox;
  }

  /**
   * Creates the jobs' directory and deletes what an earlier run left in it. Without the sandbox,
   * a job reaches its directory through this one: others may then pass through it, but not list
   * it.
   */
  private void prepareRoot() {
    try {
      Files.createDirectories(root);
      if (Files.isSymbolicLink(root) || !Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
        throw new IOException(root + " is not a directory of its own");
      }
      boolean traversable = uids.isPresent() && !enclosed();
      Files.setPosixFilePermissions(root, PosixFilePermissions.fromString(traversable ? "rwx--x--x" : "rwx------"));
      try (var leftovers = Files.list(root)) {
        for (Path leftover : leftovers.toList()) {
          log.info("deleting leftover job directory {}", leftover);
          deleteQuietly(leftover);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot prepare the jobs' directory " + root + ": " + e.getMessage(), e);
    }
  }

  /** Without job cgroups, the worker adopts what jobs orphan ({@link Subreaper}), and says how far that reaches. */
  private static void trackOrphansWithoutCgroups(boolean separateUids, List<String> degraded) {
    if (!Subreaper.become()) {
      degraded.add("no subreaper (prctl refused): a process a job orphans is found only through its process group"
          + (separateUids ? " or its uid" : ""));
    } else if (!separateUids) {
      degraded.add("without cgroups or uids of their own, a job's leftovers are found by a subreaper, through their"
          + " session: one that starts a session of its own escapes the kill");
    }
  }

  private JobSandbox withSandbox(Optional<Path> newBwrap, Optional<MountNamespaceSandbox> newMountNamespace, List<String> degraded) {
    return new JobSandbox(root, uids, setpriv, newBwrap, newMountNamespace, shell, cgroups, pidsMax, readOnlyPaths, path, degraded);
  }

  /**
   * The mount-namespace sandbox, if this worker can make one ({@code problems} says why not):
   * root's {@code CAP_SYS_ADMIN} and {@code CAP_SYS_CHROOT}, util-linux's {@code unshare} and
   * {@code mount}, and a trial run.
   */
  private Optional<MountNamespaceSandbox> mountNamespaceSandbox(
      Map<String, String> env, Path workerTempRoot, boolean sysAdmin, boolean sysChroot, List<String> problems) {
    Optional<Path> unshare = Executables.find("unshare", path);
    if (!sysAdmin || !sysChroot) {
      List<String> lacking = new ArrayList<>();
      if (!sysAdmin) {
        lacking.add("CAP_SYS_ADMIN");
      }
      if (!sysChroot) {
        lacking.add("CAP_SYS_CHROOT");
      }
      problems.add("nor mount namespaces: the worker lacks " + String.join(" and ", lacking));
      return Optional.empty();
    }
    if (unshare.isEmpty() || Executables.find("mount", path).isEmpty()) {
      problems.add("nor mount namespaces: unshare or mount (util-linux) is not on the PATH");
      return Optional.empty();
    }
    try {
      Path base = Path.of(env.getOrDefault("HODEI_JOB_SANDBOX_ROOT", workerTempRoot + "-sandbox"));
      MountNamespaceSandbox made =
          MountNamespaceSandbox.prepare(base, readOnlyPaths, SYSTEM_PATHS.size(), setpriv.orElseThrow(), unshare.get(), shell);
      Files.createDirectories(root);
      List<String> argv = new ArrayList<>(made.argv(root, Path.of("/")));
      argv.add("true");
      Optional<String> problem = probe(argv);
      if (problem.isPresent()) {
        problems.add("nor mount namespaces (" + problem.get() + ")");
        return Optional.empty();
      }
      return Optional.of(made);
    } catch (IOException e) {
      problems.add("nor mount namespaces: " + e.getMessage());
      return Optional.empty();
    }
  }

  /**
   * Makes the cgroup file systems writable in this worker's own mount namespace: a container's,
   * where the engine mounts them read-only. The cgroup the container is in stays its ceiling; the
   * worker's jobs get cgroups below it.
   */
  private static void remountCgroupsWritable(String path, boolean sysAdmin) {
    Optional<Path> mount = Executables.find("mount", path);
    if (!sysAdmin || mount.isEmpty()) {
      log.warn("{}=remount: cannot remount the cgroup file systems ({})", ENV_CGROUPS, sysAdmin ? "no mount on the PATH" : "no CAP_SYS_ADMIN");
      return;
    }
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
        int dash = line.indexOf(" - ");
        String[] before = dash < 0 ? new String[0] : line.substring(0, dash).split(" ");
        String type = dash < 0 ? "" : line.substring(dash + 3).split(" ")[0];
        if (before.length > 5 && (type.equals("cgroup") || type.equals("cgroup2")) && List.of(before[5].split(",")).contains("ro")) {
          String mountPoint = before[4].replace("\\040", " ");
          probe(List.of(mount.get().toString(), "-o", "remount,bind,rw", mountPoint))
              .ifPresent(problem -> log.warn("cannot make {} writable: {}", mountPoint, problem));
        }
      }
    } catch (IOException e) {
      log.warn("{}=remount: cannot read the mounts: {}", ENV_CGROUPS, e.toString());
    }
  }

  private static long parsePidsMax(String text) {
    if (text == null || text.isBlank()) {
      return DEFAULT_PIDS_MAX;
    }
    try {
      long value = Long.parseLong(text.strip());
      if (value < 1) {
        throw new NumberFormatException();
      }
      return value;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(ENV_PIDS_MAX + ": expected a positive number of processes, got '" + text + "'");
    }
  }

  /** Starts {@code bwrap ... true} once: it needs namespaces and mounts that a container may forbid. */
  private Optional<String> probeBwrap() {
    List<String> argv = new ArrayList<>(bwrapArguments(root, Path.of("/"), Optional.empty()));
    argv.add("true");
    return probe(argv);
  }

  /** Runs {@code argv} to its end: empty if it succeeded, else what it printed. */
  private static Optional<String> probe(List<String> argv) {
    try {
      Process probe = new ProcessBuilder(argv).redirectErrorStream(true).start();
      probe.getOutputStream().close();
      byte[] output = probe.getInputStream().readNBytes(4096);
      if (!probe.waitFor(10, TimeUnit.SECONDS)) {
        probe.destroyForcibly();
        return Optional.of("it did not finish within 10 s");
      }
      if (probe.exitValue() != 0) {
        return Optional.of(new String(output, StandardCharsets.UTF_8).strip());
      }
      return Optional.empty();
    } catch (IOException e) {
      return Optional.of(e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.of("interrupted");
    }
  }

  /** Removes what the sandbox made for all jobs; call once no job runs, as the worker stops. */
  void close() {
    mountNamespace.ifPresent(MountNamespaceSandbox::remove);
  }

    /** What this sandbox cannot do here; empty when each job is fully isolated. */
  List<String> degraded() {
    return degraded;
  }

  /** Whether jobs run under uids of their own. */
  boolean separateUids() {
    return uids.isPresent();
  }

  /** A line for the worker's start-up log. */
  String describe() {
    if (uids.isEmpty()) {
      return "jobs run as the worker's user (" + String.join("; ", degraded) + ")";
    }
    return "each job under a uid of its own"
        + (cgroups.available() ? ", in a cgroup of its own" : "")
        + (bwrap.isPresent() ? ", in a bwrap sandbox (own pid namespace, private /tmp, system directories read-only)" : "")
        + (mountNamespace.isPresent() ? ", in namespaces of its own (own pid and mount namespace, private /tmp, system directories read-only)" : "");
  }

  /** Whether jobs see the sandbox's file system, with their directory at {@value #SANDBOX_JOB_DIR}. */
  private boolean enclosed() {
    return bwrap.isPresent() || mountNamespace.isPresent();
  }

  /**
   * Sets up one execution: its uid, directory and cgroup. The caller must {@link Job#close} it
   * once the execution is over, whatever happened.
   */
  Job open(RunJobCommand command) throws IOException {
    String name = "job-" + command.getExecutionId().replaceAll("[^A-Za-z0-9._-]", "_");
    Path dir = root.resolve(name);
    Optional<Integer> uid = Optional.empty();
    if (uids.isPresent()) {
      try {
        uid = uids.get().acquire(UID_PATIENCE);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while waiting for a free job uid", e);
      }
      if (uid.isEmpty()) {
        throw new IOException("every job uid of the range (" + ENV_UIDS + ") stayed in use for " + UID_PATIENCE.toSeconds() + " s");
      }
    }
    Optional<JobCgroups.JobCgroup> cgroup = Optional.empty();
    try {
      deleteTree(dir);
      Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      Files.createDirectory(dir.resolve("work"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      if (uid.isPresent()) {
        chown(dir.resolve("work"), uid.get());
        chown(dir, uid.get());
      }
      if (cgroups.available()) {
        var resources = command.getResources();
        cgroup = Optional.of(cgroups.create(name, resources.getCpuCores(), resources.getMemoryBytes(), pidsMax));
      }
      return new Job(command, dir, uid, cgroup);
    } catch (IOException | RuntimeException e) {
      cgroup.ifPresent(JobCgroups.JobCgroup::remove);
      deleteQuietly(dir);
      uid.ifPresent(u -> uids.get().release(u, false));
      throw e;
    }
  }

  private static void chown(Path file, int uid) throws IOException {
    Files.setAttribute(file, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
    Files.setAttribute(file, "unix:gid", uid, LinkOption.NOFOLLOW_LINKS);
  }

  /**
   * The system directories read-only (a symbolic link such as {@code /bin -> usr/bin} as the same
   * link), then fresh {@code /proc}, {@code /dev}, {@code /tmp}, {@code /var/tmp} and {@code /run}
   * over them, then the directories the admin added (after the fresh mounts, so one under {@code
   * /tmp} is still seen).
   */
  private static List<String> fileSystemArguments(List<String> readOnlyPaths) {
    List<String> argv = new ArrayList<>();
    for (int i = 0; i < readOnlyPaths.size(); i++) {
      if (i == SYSTEM_PATHS.size()) {
        argv.addAll(FRESH_MOUNTS);
      }
      String p = readOnlyPaths.get(i);
      Path host = Path.of(p);
      if (Files.isSymbolicLink(host)) {
        try {
          argv.addAll(List.of("--symlink", Files.readSymbolicLink(host).toString(), p));
        } catch (IOException e) {
          log.debug("cannot read link {}: {}", host, e.toString());
        }
      } else if (Files.exists(host)) {
        argv.addAll(List.of("--ro-bind", p, p));
      }
    }
    if (readOnlyPaths.size() <= SYSTEM_PATHS.size()) {
      argv.addAll(FRESH_MOUNTS);
    }
    return List.copyOf(argv);
  }

  private List<String> bwrapArguments(Path jobDir, Path chdir, Optional<Path> hostJobDir) {
    List<String> argv = new ArrayList<>(List.of(bwrap.map(Path::toString).orElse("bwrap"),
        "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--hostname", "hodei-job"));
    argv.addAll(fileSystem);
    hostJobDir.ifPresent(host -> argv.addAll(List.of("--bind", host.toString(), SANDBOX_JOB_DIR)));
    argv.addAll(List.of("--chdir", chdir.toString(), "--"));
    return argv;
  }

  /** One execution's place: its uid, directory and cgroup, and how to start its program there. */
  final class Job implements AutoCloseable {
    private final RunJobCommand command;
    private final Path dir;
    private final Optional<Integer> uid;
    private final Optional<JobCgroups.JobCgroup> cgroup;

    private Job(RunJobCommand command, Path dir, Optional<Integer> uid, Optional<JobCgroups.JobCgroup> cgroup) {
      this.command = command;
      this.dir = dir;
      this.uid = uid;
      this.cgroup = cgroup;
    }

    Optional<Integer> uid() {
      return uid;
    }

    /** Whether the job's program sees the sandbox's file system (paths as {@link #visible}). */
    boolean enclosed() {
      return JobSandbox.this.enclosed();
    }

    /** The job's working directory, as the job sees it. */
    Path workDirectory() {
      return visible(dir.resolve("work"));
    }

    /** The working directory on the worker's side, for looking up programs. */
    Path hostWorkDirectory() {
      return dir.resolve("work");
    }

    /** A path under the job's directory as the job sees it. */
    Path visible(Path host) {
      return enclosed() ? Path.of(SANDBOX_JOB_DIR).resolve(dir.relativize(host)) : host;
    }

    /** Writes the script the job runs, readable only by the job's uid; returns its path as the job sees it. */
    Path writeScript(String content) throws IOException {
      Path script = dir.resolve("script");
      // Written before it is made read-only: a worker that is not root cannot write a 0400 file.
      Files.createFile(script, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(script, content, StandardCharsets.UTF_8);
      Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("r--------"));
      if (uid.isPresent()) {
        chown(script, uid.get());
      }
      return visible(script);
    }

    /** The environment the job starts with: the documented base, then its spec's variables. */
    Map<String, String> environment() {
      Map<String, String> env = new LinkedHashMap<>();
      env.put("PATH", path);
      String work = workDirectory().toString();
      env.put("HOME", work);
      env.put("HODEI_WORKSPACE", work);
      env.put("TMPDIR", "/tmp");
      env.put("LANG", "C.UTF-8");
      env.put("HODEI_JOB_ID", command.getJobId());
      env.put("HODEI_EXECUTION_ID", command.getExecutionId());
      env.put("HODEI_ATTEMPT", Integer.toString(command.getAttempt()));
      env.putAll(command.getEnvMap());
      return env;
    }

    /**
     * The full command line for {@code argv} (program first): joining the cgroup, the sandbox,
     * dropping to the job's uid, then the program itself.
     */
    List<String> wrap(List<String> argv, Optional<String> workingDir) {
      List<String> full = new ArrayList<>();
      if (cgroup.isPresent()) {
        full.addAll(List.of(shell.toString(), "-c", JOIN_CGROUP, "sh"));
        cgroup.get().procsFiles().forEach(f -> full.add(f.toString()));
        full.add("--");
      }
      Path chdir = workingDir.map(w -> workDirectory().resolve(w)).orElse(workDirectory());
      if (bwrap.isPresent()) {
        full.addAll(bwrapArguments(dir, chdir, Optional.of(dir)));
      }
      mountNamespace.ifPresent(sandbox -> full.addAll(sandbox.argv(dir, chdir)));
      if (uid.isPresent() && prlimit.isPresent()) {
        // Counted per uid, and the uid is the job's alone: a limit on the job's processes.
        full.addAll(List.of(prlimit.get().toString(), "--nproc=" + pidsMax + ":" + pidsMax, "--"));
      }
      if (uid.isPresent()) {
        full.addAll(List.of(setpriv.orElseThrow().toString(), "--reuid", uid.get().toString(), "--regid", uid.get().toString(),
            "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"));
      }
      full.addAll(argv);
      return full;
    }

    /** The directory to start the chain in: the sandbox changes into the job's own by itself. */
    Path startDirectory(Optional<String> workingDir) {
      if (enclosed()) {
        return dir;
      }
      return workingDir.map(w -> hostWorkDirectory().resolve(w)).orElse(hostWorkDirectory());
    }

    /** The job's processes now: its cgroup's members that run under its uid, or all its uid's. */
    List<Long> processes() {
      if (uid.isEmpty()) {
        return List.of();
      }
      return ProcessScan.ofUid(uid.get());
    }

    /**
     * SIGTERM to each of the job's own processes (not to the sandbox's helpers, whose death would
     * kill the job at once), then, once they are gone or {@code grace} has passed, SIGKILL to
     * everything in the job's cgroup and under its uid.
     */
    void terminate(Duration grace) throws InterruptedException {
      List<Long> targets = processes();
      targets.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy));
      long deadline = System.nanoTime() + grace.toNanos();
      long poll = 10;
      while (!processes().isEmpty() && System.nanoTime() - deadline < 0) {
        Thread.sleep(poll);
        poll = Math.min(160, poll * 2);
      }
      killAll();
    }

    /**
     * SIGKILL to everything of the job that still runs; true if nothing is left. With a cgroup
     * its members are all there is (a job cannot leave it: {@code cgroup.procs} is the worker's);
     * without one, every process of the job's uid is looked for.
     */
    boolean killAll() {
      if (cgroup.isPresent()) {
        return cgroup.get().killAll();
      }
      if (uid.isPresent()) {
        JobUids.killLeftovers(uid.get());
        Subreaper.reapZombiesOf(uid.get());
        return processes().isEmpty();
      }
      return true;
    }

    /** Ends what is left of the job, removes its cgroup and directory, and frees its uid. */
    @Override
    public void close() {
      boolean clean = killAll();
      cgroup.ifPresent(JobCgroups.JobCgroup::remove);
      deleteQuietly(dir);
      uid.ifPresent(u -> uids.get().release(u, clean));
    }
  }

  private static void deleteQuietly(Path dir) {
    try {
      deleteTree(dir);
    } catch (IOException e) {
      log.warn("could not delete job directory {}: {}", dir, e.toString());
    }
  }

  private static void deleteTree(Path path) throws IOException {
    if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(path, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
        // A job may have left a directory it made unreadable; the worker may change that.
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwx------"));
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.deleteIfExists(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
        if (e != null) {
          throw e;
        }
        Files.deleteIfExists(d);
        return FileVisitResult.CONTINUE;
      }
    });
  }

  /** The effective capability set of this process, from {@code /proc/self/status}. */
  private static long effectiveCapabilities() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("CapEff:")) {
          return Long.parseUnsignedLong(line.substring(7).strip(), 16);
        }
      }
    } catch (IOException | NumberFormatException e) {
      log.debug("cannot read the capabilities: {}", e.toString());
    }
    return 0;
  }

  private static String capName(int cap) {
    return switch (cap) {
      case CAP_CHOWN -> "CAP_CHOWN";
      case CAP_DAC_OVERRIDE -> "CAP_DAC_OVERRIDE";
      case CAP_FOWNER -> "CAP_FOWNER";
      case CAP_KILL -> "CAP_KILL";
      case CAP_SETGID -> "CAP_SETGID";
      case CAP_SETUID -> "CAP_SETUID";
      case CAP_SETPCAP -> "CAP_SETPCAP";
      default -> "capability " + cap;
    };
  }
}
