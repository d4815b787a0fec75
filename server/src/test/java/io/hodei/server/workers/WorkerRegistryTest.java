package io.hodei.server.workers;

import static org.assertj.core.api.Assertions.assertThat;

import io.hodei.api.v1.ServerMessage;
import io.hodei.core.job.CommandSpec;
import io.hodei.core.job.Constraints;
import io.hodei.core.job.ExecutionId;
import io.hodei.core.job.JobId;
import io.hodei.core.job.JobSpec;
import io.hodei.core.job.Resources;
import io.hodei.core.scheduling.Scheduler;
import io.hodei.core.scheduling.Strategy;
import io.hodei.core.worker.WorkerId;
import io.hodei.core.worker.WorkerInfo;
import io.hodei.server.HandClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The registry's free index against the plain list of free workers: whatever happens to the
 * workers (attach, detach, jobs, draining, silence, removal), {@link WorkerRegistry#schedule}
 * decides what the scheduler decides over {@link WorkerRegistry#freeCandidates}.
 */
class WorkerRegistryTest {
  private static final Duration SILENCE = Duration.ofSeconds(15);

  /** A stream that goes nowhere: the registry only hands it out and closes it. */
  private static final class Link implements WorkerLink {
    @Override
    public boolean send(ServerMessage message) {
      return true;
    }

    @Override
    public void close() {}
  }

  private static WorkerInfo info(String id, String zone, Resources capacity) {
    return new WorkerInfo(
        new WorkerId(id), id, "test", "host", "127.0.0.1", capacity, Set.of("shell"), Map.of("zone", zone), List.of());
  }

  private static JobSpec job(String strategy, double cpu) {
    var base = JobSpec.of("j", new CommandSpec.Shell("true", List.of()));
    var constraints =
        new Constraints(
            List.of(), List.of(), Optional.empty(), 0, Set.of(), Optional.empty(), Optional.empty(), Optional.of(strategy));
    return new JobSpec(
        base.name(), base.command(), base.env(), base.workingDir(), new Resources(cpu, 0, 0, 0), constraints,
        base.timeout(), base.retryPolicy(), base.labels());
  }

  @Test
  void theFreeIndexDecidesAsTheListOfFreeWorkersWhateverHappens() {
    for (long seed = 0; seed < 40; seed++) {
      run(new Random(seed));
    }
  }

  private static void run(Random random) {
    var clock = new HandClock(Instant.parse("2026-01-01T00:00:00Z"));
    var registry = new WorkerRegistry(clock, SILENCE);
    var indexed = new Scheduler(Strategy.LEAST_CONNECTIONS);
    var listed = new Scheduler(Strategy.LEAST_CONNECTIONS);
    Map<WorkerId, List<ExecutionId>> running = new HashMap<>();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      ids.add(String.format("w-%02d", i));
    }
    String[] strategies = {"least-connections", "round-robin", "bin-pack", "spread", "affinity"};
    for (int step = 0; step < 400; step++) {
      var id = new WorkerId(ids.get(random.nextInt(ids.size())));
      switch (random.nextInt(9)) {
        case 0 -> {
          var capacity = random.nextBoolean() ? Resources.NONE : new Resources(4, 0, 0, 0);
          registry.register(info(id.value(), random.nextBoolean() ? "a" : "b", capacity), "local", 1 + random.nextInt(3));
          running.remove(id);
        }
        case 1, 2 -> registry.attach(id, new Link());
        case 3 -> registry.link(id).ifPresent(link -> registry.detach(id, link));
        case 4 -> registry.seen(id);
        case 5 -> clock.advance(Duration.ofSeconds(random.nextInt(8)));
        case 6 -> {
          var executions = running.getOrDefault(id, List.of());
          if (!executions.isEmpty()) {
            registry.finished(id, executions.removeFirst());
          }
        }
        case 7 -> {
          if (random.nextInt(4) == 0) {
            registry.draining(id);
          } else if (random.nextInt(4) == 0) {
            registry.remove(id);
            running.remove(id);
          }
        }
        default -> {}
      }
      var spec = job(strategies[random.nextInt(strategies.length)], random.nextInt(3));
      var expected = listed.place(spec, registry.freeCandidates());
      var scheduled = registry.schedule(spec, indexed);
      assertThat(scheduled.placement()).isEqualTo(expected);
      assertThat(scheduled.reservation().map(WorkerRegistry.Reservation::workerId)).isEqualTo(expected.worker());
      scheduled.reservation().ifPresent(r -> {
        if (random.nextInt(5) == 0) {
          registry.release(r.workerId());
        } else {
          var execution = new ExecutionId("e-" + random.nextLong());
          registry.confirm(r.workerId(), new JobId("j-" + random.nextLong()), execution, spec.resources());
          running.computeIfAbsent(r.workerId(), k -> new ArrayList<>()).add(execution);
        }
      });
    }
  }

  @Test
  void aSilentWorkerGetsNoJobUntilItIsHeardFromAgain() {
    var clock = new HandClock(Instant.parse("2026-01-01T00:00:00Z"));
    var registry = new WorkerRegistry(clock, SILENCE);
    var scheduler = new Scheduler(Strategy.LEAST_CONNECTIONS);
    for (String id : List.of("w-1", "w-2")) {
      registry.register(info(id, "a", Resources.NONE), "local", 1);
      registry.attach(new WorkerId(id), new Link());
    }
    clock.advance(Duration.ofSeconds(10));
    registry.seen(new WorkerId("w-2"));
    clock.advance(Duration.ofSeconds(10)); // w-1 silent now, w-2 not

    var first = registry.schedule(job("least-connections", 0), scheduler);
    assertThat(first.placement().worker()).contains(new WorkerId("w-2"));
    registry.release(new WorkerId("w-2"));

    registry.seen(new WorkerId("w-1"));
    var again = registry.schedule(job("least-connections", 0), scheduler);
    assertThat(again.placement().worker()).contains(new WorkerId("w-1"));
  }
}
