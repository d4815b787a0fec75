package io.hodei.core.scheduling;

import io.hodei.core.job.JobSpec;
import io.hodei.core.worker.WorkerId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Chooses the worker for a job among candidates, and says why every other one was not chosen
 * (seed UC6, UC18, UC20).
 *
 * <p>Hard constraints ({@link Fit}) filter; among the workers that fit, soft preferences
 * (provider, zone, region) rank first, then the strategy the job asks for or the server's
 * default. Deterministic for the same input, except round robin, whose cursor advances with each
 * placement. Thread-safe.
 */
public final class Scheduler {

  /** Where a job goes, or why it cannot go anywhere now. */
  public record Placement(Optional<WorkerId> worker, List<Rejection> rejections, String summary) {
    public Placement {
      rejections = List.copyOf(rejections);
    }
  }

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
    return decide(spec, candidates, false);
  }

  /** Decides and, for round robin, moves the cursor past the chosen worker. */
  public synchronized Placement place(JobSpec spec, List<Candidate> candidates) {
    return decide(spec, candidates, true);
  }

  private synchronized Placement decide(JobSpec spec, List<Candidate> candidates, boolean commit) {
    List<Rejection> rejections = new ArrayList<>();
    List<Candidate> fitting = new ArrayList<>();
    for (Candidate c : candidates.stream().sorted(Comparator.comparing(c -> c.id().value())).toList()) {
      Optional<String> why = Fit.check(spec, c);
      if (why.isPresent()) {
        rejections.add(new Rejection("worker " + c.id(), why.get()));
      } else {
        fitting.add(c);
      }
    }
    if (fitting.isEmpty()) {
      return new Placement(
          Optional.empty(),
          rejections,
          candidates.isEmpty() ? "no worker is free" : "no free worker fits");
    }
    Strategy strategy = strategyFor(spec);
    int best = fitting.stream().mapToInt(c -> preferenceScore(spec, c)).max().orElse(0);
    List<Candidate> preferred = fitting.stream().filter(c -> preferenceScore(spec, c) == best).toList();
    Candidate chosen =
        switch (strategy) {
          case ROUND_ROBIN -> {
            Candidate next =
                preferred.stream()
                    .filter(c -> c.id().value().compareTo(roundRobinCursor) > 0)
                    .findFirst()
                    .orElse(preferred.getFirst());
            if (commit) {
              roundRobinCursor = next.id().value();
            }
            yield next;
          }
          case LEAST_CONNECTIONS, AFFINITY ->
              preferred.stream().min(Comparator.comparingInt(Candidate::runningJobs)).orElseThrow();
          case BIN_PACK ->
              preferred.stream()
                  .min(Comparator.comparingDouble(Candidate::freeCpu).thenComparingLong(Candidate::freeMemory))
                  .orElseThrow();
          case SPREAD ->
              preferred.stream()
                  .max(Comparator.comparingDouble(Candidate::freeCpu).thenComparingLong(Candidate::freeMemory))
                  .orElseThrow();
        };
    for (Candidate c : fitting) {
      if (c != chosen) {
        rejections.add(
            new Rejection(
                "worker " + c.id(),
                preferenceScore(spec, c) < best
                    ? "fits, but matches fewer of the job's preferences"
                    : "fits, but " + strategy.wireName() + " chose " + chosen.id()));
      }
    }
    return new Placement(
        Optional.of(chosen.id()),
        rejections,
        "worker " + chosen.id() + " (" + strategy.wireName() + ")");
  }

  /** One point per soft preference the worker meets: provider, zone, region. */
  static int preferenceScore(JobSpec spec, Candidate c) {
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
