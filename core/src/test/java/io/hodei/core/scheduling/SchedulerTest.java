package io.hodei.core.scheduling;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.hodei.core.job.CommandSpec;
import io.hodei.core.job.Constraints;
import io.hodei.core.job.JobSpec;
import io.hodei.core.job.LabelRequirement;
import io.hodei.core.job.Resources;
import io.hodei.core.job.Toleration;
import io.hodei.core.worker.Taint;
import io.hodei.core.worker.TaintEffect;
import io.hodei.core.worker.WorkerId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The properties are Jazzer fuzz tests. A plain build replays their inputs (Jazzer's regression
 * mode): each sees the empty input plus the files under {@code SchedulerTestInputs/<method>/} in
 * the test resources, random bytes made once with {@code head -c 128 /dev/urandom} (1,000 files
 * each for {@code theChosenWorker…} and {@code classBasedPlacement…}, 200 for {@code aBigClass…}),
 * so 1,001, 1,001 and 201 inputs per run, the same every run. {@code JAZZER_FUZZ=1 ./mvnw test -pl
 * core -am -Dtest='SchedulerTest#…'} fuzzes one of them instead (one fuzz test per JVM); see
 * docs/testing.md.
 */
class SchedulerTest {
  private static final Resources FOUR_CPU = new Resources(4, 8L << 30, 0, 0);

  private static Candidate worker(String id, Map<String, String> labels, List<Taint> taints, int running) {
    return new Candidate(
        new WorkerId(id), "local", labels, taints, Set.of("shell", "script"), FOUR_CPU, Resources.NONE, running);
  }

  private static Candidate worker(String id) {
    return worker(id, Map.of(), List.of(), 0);
  }

  private static JobSpec job(Constraints constraints, Resources resources) {
    var base = JobSpec.of("j", new CommandSpec.Shell("true", List.of()));
    return new JobSpec(
        base.name(), base.command(), base.env(), base.workingDir(), resources, constraints,
        base.timeout(), base.retryPolicy(), base.labels());
  }

  private static Constraints constraints(
      List<LabelRequirement> selector, List<Toleration> tolerations, Set<String> capabilities, String strategy) {
    return new Constraints(
        selector, tolerations, Optional.empty(), 0, capabilities, Optional.empty(), Optional.empty(),
        Optional.ofNullable(strategy));
  }

  private final Scheduler scheduler = new Scheduler(Strategy.LEAST_CONNECTIONS);

  @Test
  void aNoScheduleTaintRepelsJobsThatDoNotTolerateIt() {
    var gpu = worker("w-gpu", Map.of(), List.of(new Taint("gpu", "true", TaintEffect.NO_SCHEDULE)), 0);

    var plain = scheduler.place(job(Constraints.NONE, Resources.NONE), List.of(gpu));
    var tolerating =
        scheduler.place(
            job(constraints(List.of(), List.of(new Toleration("gpu", "true", false, TaintEffect.NO_SCHEDULE)), Set.of(), null), Resources.NONE),
            List.of(gpu));
    var anyValue =
        scheduler.place(
            job(constraints(List.of(), List.of(new Toleration("gpu", "", true, TaintEffect.NO_SCHEDULE)), Set.of(), null), Resources.NONE),
            List.of(gpu));

    assertThat(plain.worker()).isEmpty();
    assertThat(plain.rejections()).extracting(Rejection::toString)
        .containsExactly("worker w-gpu: taint gpu=true:NoSchedule not tolerated");
    assertThat(tolerating.worker()).contains(new WorkerId("w-gpu"));
    assertThat(anyValue.worker()).contains(new WorkerId("w-gpu"));
  }

  @Test
  void aPreferNoScheduleTaintDoesNotRepel() {
    var soft = worker("w-soft", Map.of(), List.of(new Taint("spot", "true", TaintEffect.PREFER_NO_SCHEDULE)), 0);
    assertThat(scheduler.place(job(Constraints.NONE, Resources.NONE), List.of(soft)).worker()).isPresent();
  }

  @Test
  void everyKindOfLabelRequirementIsHonoured() {
    var a = worker("w-a", Map.of("zone", "a", "arch", "amd64"), List.of(), 0);
    var b = worker("w-b", Map.of("zone", "b"), List.of(), 0);
    var cases = Map.of(
        new LabelRequirement("zone", LabelRequirement.Operator.EQUALS, List.of("a")), "w-a",
        new LabelRequirement("zone", LabelRequirement.Operator.IN, List.of("b", "c")), "w-b",
        new LabelRequirement("zone", LabelRequirement.Operator.NOT_IN, List.of("a")), "w-b",
        new LabelRequirement("arch", LabelRequirement.Operator.EXISTS, List.of()), "w-a",
        new LabelRequirement("arch", LabelRequirement.Operator.DOES_NOT_EXIST, List.of()), "w-b");
    cases.forEach(
        (requirement, expected) ->
            assertThat(
                    scheduler
                        .explain(job(constraints(List.of(requirement), List.of(), Set.of(), null), Resources.NONE), List.of(a, b))
                        .worker())
                .as(requirement.toString())
                .contains(new WorkerId(expected)));
  }

  @Test
  void aRejectedSelectorSaysWhatTheWorkerHas() {
    var b = worker("w-b", Map.of("zone", "b"), List.of(), 0);
    var placement =
        scheduler.explain(
            job(constraints(List.of(new LabelRequirement("zone", LabelRequirement.Operator.IN, List.of("a", "c"))), List.of(), Set.of(), null), Resources.NONE),
            List.of(b));
    assertThat(placement.rejections()).extracting(Rejection::reason)
        .containsExactly("label selector zone in (a,c) not met (zone=b)");
  }

  @Test
  void resourcesMustFitTheFreeCapacity() {
    var busy = new Candidate(new WorkerId("w-busy"), "local", Map.of(), List.of(), Set.of(), FOUR_CPU, new Resources(3, 0, 0, 0), 1);
    var idle = worker("w-idle");
    var twoCpu = job(Constraints.NONE, new Resources(2, 0, 0, 0));

    var placement = scheduler.explain(twoCpu, List.of(busy, idle));

    assertThat(placement.worker()).contains(new WorkerId("w-idle"));
    assertThat(placement.rejections()).extracting(Rejection::toString)
        .contains("worker w-busy: needs 2.00 cpu, 1.00 of 4.00 free");
    assertThat(scheduler.explain(job(Constraints.NONE, new Resources(0, 0, 0, 1)), List.of(idle)).rejections())
        .extracting(Rejection::reason).containsExactly("needs 1 gpu, 0 free");
  }

  @Test
  void requiredCapabilitiesMustAllBeOffered() {
    var placement =
        scheduler.explain(job(constraints(List.of(), List.of(), Set.of("shell", "docker"), null), Resources.NONE), List.of(worker("w-1")));
    assertThat(placement.worker()).isEmpty();
    assertThat(placement.rejections()).extracting(Rejection::reason).containsExactly("lacks capability docker");
  }

  @Test
  void leastConnectionsPicksTheWorkerRunningFewestJobs() {
    var placement =
        scheduler.explain(job(Constraints.NONE, Resources.NONE),
            List.of(worker("w-1", Map.of(), List.of(), 3), worker("w-2", Map.of(), List.of(), 1), worker("w-3", Map.of(), List.of(), 2)));
    assertThat(placement.worker()).contains(new WorkerId("w-2"));
    assertThat(placement.summary()).isEqualTo("worker w-2 (least-connections)");
    assertThat(placement.rejections()).extracting(Rejection::reason)
        .containsOnly("fits, but least-connections chose w-2");
  }

  @Test
  void roundRobinTakesEachWorkerInTurn() {
    var workers = List.of(worker("w-1"), worker("w-2"), worker("w-3"));
    var spec = job(constraints(List.of(), List.of(), Set.of(), "round-robin"), Resources.NONE);
    List<String> chosen = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      chosen.add(scheduler.place(spec, workers).worker().orElseThrow().value());
    }
    assertThat(chosen).containsExactly("w-1", "w-2", "w-3", "w-1", "w-2");
  }

  @Test
  void binPackFillsTheFullestWorkerAndSpreadTheEmptiest() {
    var full = new Candidate(new WorkerId("w-full"), "local", Map.of(), List.of(), Set.of(), FOUR_CPU, new Resources(3, 0, 0, 0), 3);
    var empty = worker("w-empty");
    var oneCpu = new Resources(1, 0, 0, 0);
    assertThat(scheduler.explain(job(constraints(List.of(), List.of(), Set.of(), "bin-pack"), oneCpu), List.of(full, empty)).worker())
        .contains(new WorkerId("w-full"));
    assertThat(scheduler.explain(job(constraints(List.of(), List.of(), Set.of(), "spread"), oneCpu), List.of(full, empty)).worker())
        .contains(new WorkerId("w-empty"));
  }

  @Test
  void softPreferencesWinOverTheStrategyButNeverOverHardConstraints() {
    var inZone = worker("w-z", Map.of("zone", "eu-1a"), List.of(), 5);
    var elsewhere = worker("w-x", Map.of("zone", "us-1"), List.of(), 0);
    var prefersZone =
        new Constraints(List.of(), List.of(), Optional.empty(), 0, Set.of(), Optional.of("eu-1a"), Optional.empty(), Optional.empty());

    assertThat(scheduler.explain(job(prefersZone, Resources.NONE), List.of(inZone, elsewhere)).worker())
        .contains(new WorkerId("w-z"));
    var tainted = worker("w-z", Map.of("zone", "eu-1a"), List.of(new Taint("x", "y", TaintEffect.NO_SCHEDULE)), 0);
    assertThat(scheduler.explain(job(prefersZone, Resources.NONE), List.of(tainted, elsewhere)).worker())
        .contains(new WorkerId("w-x"));
  }

  @Test
  void noWorkersMeansNoPlacementAndSaysSo() {
    var placement = scheduler.explain(job(Constraints.NONE, Resources.NONE), List.of());
    assertThat(placement.worker()).isEmpty();
    assertThat(placement.summary()).isEqualTo("no worker is free");
  }

  // ---- properties ------------------------------------------------------------------------

  private static final List<String> ZONES = List.of("a", "b", "c");

  private static final List<Double> CPUS = List.of(0.0, 0.5, 1.0, 2.0, 4.0, 5.0);

  /** Up to 8 workers with distinct ids, in three zones, some tainted, some busy. */
  private static List<Candidate> workers(FuzzedDataProvider data) {
    return distinctIds(
        data,
        8,
        () ->
            new Candidate(
                new WorkerId("w-" + data.consumeInt(1, 99)),
                "local",
                Map.of("zone", data.pickValue(ZONES)),
                data.consumeBoolean() ? List.of(new Taint("gpu", "true", TaintEffect.NO_SCHEDULE)) : List.of(),
                Set.of("shell"),
                FOUR_CPU,
                new Resources(cpuInHundredths(data, 4), 0, 0, 0),
                data.consumeInt(0, 4)));
  }

  /**
   * Up to {@code maxSize} candidates, as many as the input asks for unless it runs out first; a
   * candidate whose id is taken is drawn again.
   */
  private static List<Candidate> distinctIds(
      FuzzedDataProvider data, int maxSize, java.util.function.Supplier<Candidate> one) {
    int size = data.consumeInt(0, maxSize);
    Map<WorkerId, Candidate> byId = new LinkedHashMap<>();
    while (byId.size() < size && data.remainingBytes() > 0) {
      Candidate candidate = one.get();
      byId.putIfAbsent(candidate.id(), candidate);
    }
    return List.copyOf(byId.values());
  }

  /** A cpu amount between 0 and {@code max} in steps of 0.01, so that exact fits come up. */
  private static double cpuInHundredths(FuzzedDataProvider data, int max) {
    return data.consumeInt(0, max * 100) / 100.0;
  }

  @FuzzTest
  void theChosenWorkerAlwaysFitsAndEveryWorkerIsAccountedFor(FuzzedDataProvider data) {
    List<Candidate> workers = workers(data);
    boolean tolerate = data.consumeBoolean();
    String zone = data.pickValue(ZONES);
    double cpu = data.pickValue(CPUS);
    Strategy strategy = data.pickValue(Strategy.values());
    var spec =
        job(
            constraints(
                List.of(new LabelRequirement("zone", LabelRequirement.Operator.IN, List.of(zone))),
                tolerate ? List.of(new Toleration("gpu", "true", false, TaintEffect.NO_SCHEDULE)) : List.of(),
                Set.of(),
                strategy.wireName()),
            new Resources(cpu, 0, 0, 0));

    var placement = new Scheduler(Strategy.LEAST_CONNECTIONS).explain(spec, workers);

    placement.worker().ifPresent(id -> {
      var chosen = workers.stream().filter(w -> w.id().equals(id)).findFirst().orElseThrow();
      assertThat(Fit.check(spec, chosen)).isEmpty();
    });
    boolean anyFits = workers.stream().anyMatch(w -> Fit.check(spec, w).isEmpty());
    assertThat(placement.worker().isPresent()).isEqualTo(anyFits);
    assertThat(placement.rejections()).hasSize(workers.size() - (anyFits ? 1 : 0));
  }

  /**
   * The placement as it was decided before worker classes: every candidate checked and ranked one
   * by one, in id order. The class-based scheduler must decide exactly the same.
   */
  private static final class NaiveScheduler {
    private final Strategy defaultStrategy;
    private String roundRobinCursor = "";

    NaiveScheduler(Strategy defaultStrategy) {
      this.defaultStrategy = defaultStrategy;
    }

    Scheduler.Placement place(JobSpec spec, List<Candidate> candidates) {
      List<Rejection> rejections = new ArrayList<>();
      List<Candidate> fitting = new ArrayList<>();
      for (Candidate c : candidates.stream().sorted(java.util.Comparator.comparing(c -> c.id().value())).toList()) {
        Optional<String> why = Fit.check(spec, c);
        if (why.isPresent()) {
          rejections.add(new Rejection("worker " + c.id(), why.get()));
        } else {
          fitting.add(c);
        }
      }
      if (fitting.isEmpty()) {
        return new Scheduler.Placement(
            Optional.empty(), rejections, candidates.isEmpty() ? "no worker is free" : "no free worker fits");
      }
      Strategy strategy = spec.constraints().strategy().flatMap(Strategy::parse).orElse(defaultStrategy);
      int best = fitting.stream().mapToInt(c -> Scheduler.preferenceScore(spec, c)).max().orElse(0);
      List<Candidate> preferred = fitting.stream().filter(c -> Scheduler.preferenceScore(spec, c) == best).toList();
      var byCapacity = java.util.Comparator.comparingDouble(Candidate::freeCpu).thenComparingLong(Candidate::freeMemory);
      Candidate chosen =
          switch (strategy) {
            case ROUND_ROBIN -> {
              Candidate next =
                  preferred.stream()
                      .filter(c -> c.id().value().compareTo(roundRobinCursor) > 0)
                      .findFirst()
                      .orElse(preferred.getFirst());
              roundRobinCursor = next.id().value();
              yield next;
            }
            case LEAST_CONNECTIONS, AFFINITY ->
                preferred.stream().min(java.util.Comparator.comparingInt(Candidate::runningJobs)).orElseThrow();
            case BIN_PACK -> preferred.stream().min(byCapacity).orElseThrow();
            case SPREAD -> preferred.stream().max(byCapacity).orElseThrow();
          };
      for (Candidate c : fitting) {
        if (c != chosen) {
          rejections.add(
              new Rejection(
                  "worker " + c.id(),
                  Scheduler.preferenceScore(spec, c) < best
                      ? "fits, but matches fewer of the job's preferences"
                      : "fits, but " + strategy.wireName() + " chose " + chosen.id()));
        }
      }
      return new Scheduler.Placement(
          Optional.of(chosen.id()), rejections, "worker " + chosen.id() + " (" + strategy.wireName() + ")");
    }
  }

  /** Workers drawn from few shapes, so that classes have several members. */
  private static List<Candidate> lookalikes(FuzzedDataProvider data) {
    return distinctIds(
        data,
        Scheduler.DETAILED_CLASS_SIZE,
        () ->
            new Candidate(
                new WorkerId(String.format("w-%03d", data.consumeInt(1, 999))),
                data.pickValue(List.of("local", "docker")),
                Map.of("zone", data.pickValue(List.of("a", "b"))),
                data.consumeBoolean() ? List.of(new Taint("gpu", "true", TaintEffect.NO_SCHEDULE)) : List.of(),
                Set.of("shell"),
                FOUR_CPU,
                new Resources(data.pickValue(List.of(0.0, 2.0, 3.5)), 0, 0, 0),
                data.consumeInt(0, 2)));
  }

  @FuzzTest
  void classBasedPlacementEqualsCheckingEveryWorker(FuzzedDataProvider data) {
    List<Candidate> workers = lookalikes(data);
    boolean tolerate = data.consumeBoolean();
    String zone = data.pickValue(ZONES);
    double cpu = data.pickValue(CPUS);
    Strategy strategy = data.pickValue(Strategy.values());
    boolean prefer = data.consumeBoolean();
    var spec =
        job(
            new Constraints(
                List.of(new LabelRequirement("zone", LabelRequirement.Operator.NOT_IN, List.of(zone))),
                tolerate ? List.of(new Toleration("gpu", "true", false, TaintEffect.NO_SCHEDULE)) : List.of(),
                prefer ? Optional.of("docker") : Optional.empty(),
                0,
                Set.of(),
                prefer ? Optional.of("b") : Optional.empty(),
                Optional.empty(),
                Optional.of(strategy.wireName())),
            new Resources(cpu, 0, 0, 0));
    var classes = new Scheduler(Strategy.LEAST_CONNECTIONS);
    var naive = new NaiveScheduler(Strategy.LEAST_CONNECTIONS);
    // Several placements in a row, so that the round-robin cursor is exercised too.
    for (int i = 0; i < 3; i++) {
      assertThat(classes.place(spec, workers)).isEqualTo(naive.place(spec, workers));
    }
  }

  @FuzzTest
  void aBigClassIsExplainedInOneLineThatCountsEveryWorker(FuzzedDataProvider data) {
    int size = data.consumeInt(12, 3000);
    boolean fits = data.consumeBoolean();
    Strategy strategy = data.pickValue(Strategy.values());
    List<Candidate> workers = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      workers.add(worker(String.format("w-%05d", i)));
    }
    var spec = job(constraints(List.of(), List.of(), fits ? Set.of("shell") : Set.of("gpu"), strategy.wireName()), Resources.NONE);

    var placement = new Scheduler(Strategy.LEAST_CONNECTIONS).place(spec, workers);

    assertThat(placement.worker().isPresent()).isEqualTo(fits);
    assertThat(placement.rejections()).hasSize(1);
    Rejection only = placement.rejections().getFirst();
    if (fits) {
      assertThat(placement.worker()).contains(new WorkerId("w-00000"));
      assertThat(only.candidate()).isEqualTo(String.format(java.util.Locale.ROOT, "worker w-00001 and %,d more workers like it", size - 2));
      assertThat(only.reason()).isEqualTo("fits, but " + strategy.wireName() + " chose w-00000");
    } else {
      assertThat(only.candidate()).isEqualTo(String.format(java.util.Locale.ROOT, "worker w-00000 and %,d more workers like it", size - 1));
      assertThat(only.reason()).isEqualTo("lacks capability gpu");
    }
  }
}
