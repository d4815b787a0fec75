package io.hodei.worker;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The processes of a {@code /proc} directory at one moment, read from each {@code <pid>/stat}:
 * parent, process group, cpu ticks and threads. Totals over a process group (a job run under {@code
 * setsid}) or over a process tree (the worker and its children) add the members' {@code VmRSS} from
 * {@code <pid>/status}.
 *
 * <p>Processes come and go while the directory is read: one that vanished half-way is left out. Cpu
 * ticks are in {@code USER_HZ}, which Linux fixes at {@value #TICKS_PER_SECOND} on every
 * architecture Hodei runs on. Immutable once read; not tied to any thread.
 */
final class ProcessTable {
  static final long TICKS_PER_SECOND = 100;

  /**
   * One process as its {@code stat} describes it. {@code cpuTicks}: its own user and system time
   * plus that of its children it has waited for, so that the total of a group or tree does not drop
   * when one of its processes exits and is reaped by another.
   */
  record Proc(long pid, long parent, long processGroup, long cpuTicks, int threads) {}

  /** What a set of processes uses: cpu ticks, resident memory, threads and processes. */
  record Totals(long cpuTicks, long rssBytes, int threads, int processes) {
    static final Totals NONE = new Totals(0, 0, 0, 0);
  }

  private final Path proc;
  private final Map<Long, Proc> processes;

  private ProcessTable(Path proc, Map<Long, Proc> processes) {
    this.proc = proc;
    this.processes = processes;
  }

  /** Reads every numeric directory of {@code proc}. */
  static ProcessTable read(Path proc) {
    Map<Long, Proc> processes = new HashMap<>();
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(proc, "[0-9]*")) {
      for (Path dir : dirs) {
        try {
          parseStat(Files.readString(dir.resolve("stat")))
              .ifPresent(p -> processes.put(p.pid(), p));
        } catch (IOException e) {
          // the process ended while the directory was read
        }
      }
    } catch (IOException e) {
      return new ProcessTable(proc, Map.of());
    }
    return new ProcessTable(proc, Map.copyOf(processes));
  }

  int size() {
    return processes.size();
  }

  /** Every process whose process group is {@code processGroup}. */
  Totals group(long processGroup) {
    return totals(
        processes.values().stream().filter(p -> p.processGroup() == processGroup).toList());
  }

  /** {@code root} and all its descendants. */
  Totals tree(long root) {
    return totals(descendants(root));
  }

  /**
   * The pids of {@code pid}'s lineage: the process, its descendants and its ancestors (a
   * container's init, say, is an ancestor of the worker).
   */
  Set<Long> lineage(long pid) {
    Set<Long> lineage = new HashSet<>();
    descendants(pid).forEach(p -> lineage.add(p.pid()));
    Proc ancestor = processes.get(pid);
    while (ancestor != null && lineage.add(ancestor.parent())) {
      ancestor = processes.get(ancestor.parent());
    }
    lineage.add(pid);
    return lineage;
  }

  /** The pids of the members of {@code processGroup}. */
  Set<Long> groupMembers(long processGroup) {
    Set<Long> members = new HashSet<>();
    for (Proc p : processes.values()) {
      if (p.processGroup() == processGroup) {
        members.add(p.pid());
      }
    }
    return members;
  }

  /**
   * The descendants of {@code root} below its first {@code skip} generations, with their own
   * descendants: the job's processes under the sandbox's helpers ({@code bwrap} and its pid 1).
   */
  Totals treeBelow(long root, int skip) {
    if (skip == 0) {
      return tree(root);
    }
    List<Proc> all = descendants(root);
    Map<Long, Integer> depth = new HashMap<>();
    depth.put(root, 0);
    List<Proc> below = new ArrayList<>();
    for (Proc p : all) { // breadth-first: a parent comes before its children
      int d = p.pid() == root ? 0 : depth.getOrDefault(p.parent(), -1) + 1;
      depth.put(p.pid(), d);
      if (d >= skip) {
        below.add(p);
      }
    }
    return totals(below);
  }

  private List<Proc> descendants(long root) {
    if (!processes.containsKey(root)) {
      return List.of();
    }
    Map<Long, List<Proc>> children = new HashMap<>();
    for (Proc p : processes.values()) {
      children.computeIfAbsent(p.parent(), k -> new ArrayList<>()).add(p);
    }
    List<Proc> members = new ArrayList<>();
    ArrayDeque<Proc> toVisit = new ArrayDeque<>();
    toVisit.add(processes.get(root));
    while (!toVisit.isEmpty()) {
      Proc p = toVisit.poll();
      members.add(p);
      toVisit.addAll(children.getOrDefault(p.pid(), List.of()));
    }
    return members;
  }

  private Totals totals(List<Proc> members) {
    long ticks = 0;
    long rss = 0;
    int threads = 0;
    for (Proc p : members) {
      ticks += p.cpuTicks();
      threads += p.threads();
      rss += rssBytes(proc.resolve(Long.toString(p.pid())).resolve("status"));
    }
    return new Totals(ticks, rss, threads, members.size());
  }

  /**
   * Parses {@code pid (comm) state ppid pgrp ...}. The command name may hold spaces and
   * parentheses, so the fields are counted from the last ')'.
   */
  static Optional<Proc> parseStat(String stat) {
    int open = stat.indexOf('(');
    int close = stat.lastIndexOf(')');
    if (open < 0 || close < open) {
      return Optional.empty();
    }
    String[] rest = stat.substring(close + 1).strip().split("\\s+");
    // rest[0] is field 3 (state): field n is rest[n - 3]; num_threads is field 20.
    if (rest.length < 18) {
      return Optional.empty();
    }
    try {
      long pid = Long.parseLong(stat.substring(0, open).strip());
      long parent = Long.parseLong(rest[1]);
      long group = Long.parseLong(rest[2]);
      long ticks = 0;
      for (int field = 14; field <= 17; field++) { // utime stime cutime cstime
        ticks += Long.parseLong(rest[field - 3]);
      }
      int threads = Integer.parseInt(rest[20 - 3]);
      return Optional.of(new Proc(pid, parent, group, ticks, threads));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** {@code VmRSS: 1234 kB} in bytes; 0 for kernel threads, which have none, and gone processes. */
  private static long rssBytes(Path status) {
    try {
      for (String line : Files.readAllLines(status)) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.substring("VmRSS:".length()).strip().split("\\s+")[0]) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      return 0;
    }
    return 0;
  }
}
