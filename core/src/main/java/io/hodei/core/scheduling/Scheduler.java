package io.hodei.core.scheduling;

import io.hodei.core.job.JobSpec;
import io.hodei.core.worker.WorkerId;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Chooses the worker for a job among candidates, and says why every other one was not chosen
 * (seed UC6, UC18, UC20).
 *
 * <p>Hard constraints ({@link Fit}) filter; among the workers that fit, soft preferences
 * (provider, zone, region) rank first, then the strategy the job asks for or the server's
 * default. Deterministic for the same input, except round robin, whose cursor advances with each
 * placement. Thread-safe.
 *
 * <p>Free workers are considered by {@link WorkerClass}: a job is checked once per class, and the
 * worker chosen within a class is its lowest id, which is what checking each worker in id order
 * chose (every strategy breaks ties by the lowest id). Placement costs time in the number of
 * classes, not of workers, so it stays flat as a fleet of look-alike workers grows.
 */
public final class Scheduler {

  /** Where a job goes, or why it cannot go anywhere now. */
  public record Placement(Optional<WorkerId> worker, List<Rejection> rejections, String summary) {
    public Placement {
      rejections = List.copyOf(rejections);
    }
  }

  /** A class of up to this many workers is explained worker by worker; a bigger one in a line. */
  static final int DETAILED_CLASS_SIZE = 10;

  private final Strategy defaultStrategy;
  private String roundRobinCursor = "";

  public Scheduler(Strategy defaultStrategy) {
    this.defaultStrategy = defaultStrategy;
  }

  public Strategy defaultStrategy() {
    return defaultStrategy;
  }

  /** Empty if the job may run on the candidate; otherwise the first reason it may not. */
  public static Optional<String> whyNot(JobSpec spec, Candidate candidate) {
    return Fit.check(spec, candidate);
  }

  /** The strategy a job gets: its own if it names a known one, else the server's. */
  public Strategy strategyFor(JobSpec spec) {
    return spec.constraints().strategy().flatMap(Strategy::parse).orElse(defaultStrategy);
  }

  /** Decides without side effects on the round-robin cursor. */
  public Placement explain(JobSpec spec, List<Candidate> candidates) {
    return decide(spec, group(candidates), false);
  }

  /** Decides and, for round robin, moves the cursor past the chosen worker. */
  public synchronized Placement place(JobSpec spec, List<Candidate> candidates) {
    return decide(spec, group(candidates), true);
  }

  /**
   * As {@link #place(JobSpec, List)}, over free workers already grouped by class: the same
   * decision, in time that grows with the number of classes, not of workers (plus a logarithm
   * for round robin). The classes must be disjoint.
   */
  public synchronized Placement placeAmong(JobSpec spec, Collection<CandidateClass> classes) {
    return decide(spec, classes, true);
  }

  /** As {@link #explain(JobSpec, List)}, over free workers already grouped by class. */
  public Placement explainAmong(JobSpec spec, Collection<CandidateClass> classes) {
    return decide(spec, classes, false);
  }

  /** Groups candidates by {@link WorkerClass}; ids must be unique. */
  public static List<CandidateClass> group(List<Candidate> candidates) {
    Map<WorkerClass, TreeSet<String>> classes = new LinkedHashMap<>();
    for (Candidate c : candidates) {
      classes.computeIfAbsent(WorkerClass.of(c), k -> new TreeSet<>()).add(c.id().value());
    }
    List<CandidateClass> grouped = new ArrayList<>(classes.size());
    classes.forEach((traits, ids) -> grouped.add(new CandidateClass(traits, ids)));
    return grouped;
  }

  /** A rejection and the id it sorts by (its first worker), to list them in worker id order. */
  private record Ranked(String firstId, Rejection rejection) {}

  /** Comparing the strategies' criteria; the lowest worker id breaks every tie, as it always has. */
  private static final Comparator<Candidate> BY_FREE_CAPACITY =
      Comparator.comparingDouble(Candidate::freeCpu).thenComparingLong(Candidate::freeMemory);

  private synchronized Placement decide(JobSpec spec, Collection<CandidateClass> classes, boolean commit) {
    // Fit is a property of the class: checked once, on any member.
    List<Ranked> unfit = new ArrayList<>();
    List<CandidateClass> fitting = new ArrayList<>();
    for (CandidateClass c : classes) {
      Optional<String> why = Fit.check(spec, c.traits().candidate(c.members().first()));
      if (why.isPresent()) {
        reject(c.members(), null, why.get(), unfit);
      } else {
        fitting.add(c);
      }
    }
    unfit.sort(Comparator.comparing(Ranked::firstId));
    if (fitting.isEmpty()) {
      return new Placement(
          Optional.empty(),
          unfit.stream().map(Ranked::rejection).toList(),
          classes.isEmpty() ? "no worker is free" : "no free worker fits");
    }
    Strategy strategy = strategyFor(spec);
    int best = fitting.stream().mapToInt(c -> preferenceScore(spec, c.traits())).max().orElse(0);
    List<CandidateClass> preferred =
        fitting.stream().filter(c -> preferenceScore(spec, c.traits()) == best).toList();
    // Within a class every member is equally good: its lowest id stands for it.
    Comparator<CandidateClass> byFirstId = Comparator.comparing(c -> c.members().first());
    String chosen =
        switch (strategy) {
          case ROUND_ROBIN -> {
            String next =
                preferred.stream()
                    .map(c -> c.members().higher(roundRobinCursor))
                    .filter(java.util.Objects::nonNull)
                    .min(Comparator.naturalOrder())
                    .orElseGet(() -> preferred.stream().map(c -> c.members().first()).min(Comparator.naturalOrder()).orElseThrow());
            if (commit) {
              roundRobinCursor = next;
            }
            yield next;
          }
          case LEAST_CONNECTIONS, AFFINITY ->
              preferred.stream()
                  .min(Comparator.comparingInt((CandidateClass c) -> c.traits().runningJobs()).thenComparing(byFirstId))
                  .orElseThrow()
                  .members()
                  .first();
          case BIN_PACK ->
              preferred.stream()
                  .min(Comparator.comparing((CandidateClass c) -> c.traits().candidate(c.members().first()), BY_FREE_CAPACITY)
                      .thenComparing(byFirstId))
                  .orElseThrow()
                  .members()
                  .first();
          case SPREAD ->
              preferred.stream()
                  .min(Comparator.comparing((CandidateClass c) -> c.traits().candidate(c.members().first()), BY_FREE_CAPACITY.reversed())
                      .thenComparing(byFirstId))
                  .orElseThrow()
                  .members()
                  .first();
        };
    List<Ranked> passedOver = new ArrayList<>();
    for (CandidateClass c : fitting) {
      reject(
          c.members(),
          chosen,
          preferenceScore(spec, c.traits()) < best
              ? "fits, but matches fewer of the job's preferences"
              : "fits, but " + strategy.wireName() + " chose " + chosen,
          passedOver);
    }
    passedOver.sort(Comparator.comparing(Ranked::firstId));
    List<Rejection> rejections = new ArrayList<>(unfit.size() + passedOver.size());
    unfit.forEach(r -> rejections.add(r.rejection()));
    passedOver.forEach(r -> rejections.add(r.rejection()));
    return new Placement(Optional.of(new WorkerId(chosen)), rejections, "worker " + chosen + " (" + strategy.wireName() + ")");
  }

  /**
   * Adds the rejections of a class's workers (but {@code except}, the chosen one): one per worker
   * for a small class, as before classes existed; one line for all of a big class, which would
   * otherwise cost time and words in proportion to the fleet on every placement.
   */
  private static void reject(NavigableSet<String> members, String except, String reason, List<Ranked> into) {
    int count = members.size() - (except != null && members.contains(except) ? 1 : 0);
    if (count <= DETAILED_CLASS_SIZE) {
      for (String id : members) {
        if (!id.equals(except)) {
          into.add(new Ranked(id, new Rejection("worker " + id, reason)));
        }
      }
      return;
    }
    String first = members.first().equals(except) ? members.higher(except) : members.first();
    into.add(
        new Ranked(
            first,
            new Rejection(
                String.format(java.util.Locale.ROOT, "worker %s and %,d more workers like it", first, count - 1),
                reason)));
  }

  /** One point per soft preference the worker meets: provider, zone, region. */
  static int preferenceScore(JobSpec spec, Candidate c) {
    return preferenceScore(spec, WorkerClass.of(c));
  }

  static int preferenceScore(JobSpec spec, WorkerClass c) {
    var constraints = spec.constraints();
    int score = 0;
    if (constraints.preferredProvider().filter(c.provider()::equals).isPresent()) {
      score++;
    }
    if (constraints.preferredZone().filter(z -> z.equals(c.labels().get("zone"))).isPresent()) {
      score++;
    }
    if (constraints.preferredRegion().filter(r -> r.equals(c.labels().get("region"))).isPresent()) {
      score++;
    }
    return score;
  }
}
