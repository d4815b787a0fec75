package io.hodei.store;

import static io.hodei.store.TestJobs.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.hodei.core.job.Resources;
import io.hodei.core.worker.Taint;
import io.hodei.core.worker.TaintEffect;
import io.hodei.core.worker.WorkerId;
import io.hodei.core.worker.WorkerInfo;
import io.hodei.core.worker.WorkerRegistration;
import io.hodei.core.worker.WorkerStore;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link WorkerStore} must do. Subclasses supply an empty, migrated database per test.
 */
abstract class WorkerStoreContract {
  private Database database;
  private WorkerStore store;

  /** A migrated database with no workers in it; closed after the test. */
  protected abstract Database openEmptyDatabase();

  @BeforeEach
  void openStore() {
    database = openEmptyDatabase();
    store = Stores.open(database).workers();
  }

  @AfterEach
  void closeDatabase() {
    database.close();
  }

  @Test
  void aSavedRegistrationIsFoundWithEveryFieldIntact() {
    WorkerRegistration registration = registration("w-1", "session-hash-1", true);

    store.save(registration);

    assertThat(store.find(new WorkerId("w-1"))).contains(registration);
  }

  @Test
  void aBareWorkerInfoSurvivesTheRoundTrip() {
    WorkerInfo bare =
        new WorkerInfo(
            new WorkerId("w-bare"), "", "", "", "", Resources.NONE, Set.of(), Map.of(), List.of());
    WorkerRegistration registration = new WorkerRegistration(bare, "local", "", "h", T0, true);

    store.save(registration);

    assertThat(store.find(bare.id())).contains(registration);
  }

  @Test
  void theReplicaOfEachActiveWorkersStreamIsItsLastAttach() {
    store.save(registration("w-1", "s1", true));
    store.save(registration("w-2", "s2", true));
    store.save(registration("w-gone", "s3", true));

    store.attach(new WorkerId("w-1"), "r1");
    store.attach(new WorkerId("w-1"), "r2");
    store.attach(new WorkerId("w-gone"), "r1");
    store.attach(new WorkerId("w-unknown"), "r1");
    store.deactivate(new WorkerId("w-gone"));
    store.save(registration("w-1", "s1-again", true)); // registering again keeps it until the next attach

    assertThat(store.attachments())
        .containsOnly(Map.entry(new WorkerId("w-1"), "r2"), Map.entry(new WorkerId("w-2"), ""));
  }

  @Test
  void eachWorkersNewestSampleIsReadBackByTheOtherReplicasSinceAMoment() {
    store.saveSample(new WorkerId("w-1"), "r1", T0, new byte[] {1});
    store.saveSample(new WorkerId("w-1"), "r1", T0.plusSeconds(5), new byte[] {2});
    store.saveSample(new WorkerId("w-2"), "r2", T0.plusSeconds(6), new byte[] {3});

    assertThat(store.samplesSince(T0, "r3")).containsExactly(new byte[] {2}, new byte[] {3});
    assertThat(store.samplesSince(T0.plusSeconds(6), "r3")).containsExactly(new byte[] {3});
    assertThat(store.samplesSince(T0, "r1")).containsExactly(new byte[] {3});
  }

  @Test
  void findingAWorkerThatWasNeverSavedGivesNothing() {
    assertThat(store.find(new WorkerId("w-unknown"))).isEmpty();
  }

  @Test
  void savingAgainReplacesTheRegistration() {
    store.save(registration("w-1", "old-session", true));
    WorkerRegistration resumed = registration("w-1", "new-session", true);

    store.save(resumed);

    assertThat(store.find(new WorkerId("w-1"))).contains(resumed);
  }

  @Test
  void aDeactivatedWorkerIsKeptButInactive() {
    WorkerRegistration registration = registration("w-1", "session", true);
    store.save(registration);
    store.save(registration("w-2", "session-2", true));

    store.deactivate(new WorkerId("w-1"));

    assertThat(store.find(new WorkerId("w-1")))
        .contains(
            new WorkerRegistration(
                registration.info(),
                registration.provider(),
                registration.handleReference(),
                registration.sessionHash(),
                registration.registeredAt(),
                false));
    assertThat(store.find(new WorkerId("w-2")).orElseThrow().active()).isTrue();
  }

  @Test
  void theProvidersHandleReferenceRoundTrips() {
    WorkerRegistration docker =
        withHandle(registration("w-1", "session", true), "docker:3f9c2a1b7e4d");
    WorkerRegistration unknown = withHandle(registration("w-2", "session-2", true), "");

    store.save(docker);
    store.save(unknown);

    assertThat(store.find(new WorkerId("w-1")).orElseThrow().handleReference())
        .isEqualTo("docker:3f9c2a1b7e4d");
    assertThat(store.find(new WorkerId("w-2")).orElseThrow().handleReference()).isEmpty();
  }

  @Test
  void savingAgainReplacesTheHandleReferenceAndDeactivatingKeepsIt() {
    store.save(withHandle(registration("w-1", "session", true), "pid:100"));
    store.save(withHandle(registration("w-1", "session", true), "pid:200"));

    store.deactivate(new WorkerId("w-1"));

    WorkerRegistration found = store.find(new WorkerId("w-1")).orElseThrow();
    assertThat(found.handleReference()).isEqualTo("pid:200");
    assertThat(found.active()).isFalse();
  }

  @Test
  void deactivatingAnUnknownWorkerDoesNothing() {
    store.deactivate(new WorkerId("w-unknown"));

    assertThat(store.find(new WorkerId("w-unknown"))).isEmpty();
  }

  private static WorkerRegistration registration(String id, String sessionHash, boolean active) {
    WorkerInfo info =
        new WorkerInfo(
            new WorkerId(id),
            "worker " + id,
            "0.1.0",
            "host-" + id + ".example",
            "10.0.0.7",
            new Resources(4, 8L << 30, 100L << 30, 2),
            Set.of("docker", "gpu", "shell"),
            Map.of("zone", "a", "arch", "arm64"),
            List.of(
                new Taint("dedicated", "ci", TaintEffect.NO_SCHEDULE),
                new Taint("spot", "", TaintEffect.PREFER_NO_SCHEDULE)));
    return new WorkerRegistration(
        info, "local", "pid:4242", sessionHash, T0.plusMillis(1234), active);
  }

  private static WorkerRegistration withHandle(WorkerRegistration r, String handleReference) {
    return new WorkerRegistration(
        r.info(), r.provider(), handleReference, r.sessionHash(), r.registeredAt(), r.active());
  }
}
