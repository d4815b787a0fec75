package io.hodei.store;

import static io.hodei.store.TestJobs.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.hodei.core.replica.Replica;
import io.hodei.core.replica.ReplicaStore;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What every {@link ReplicaStore} must do. Subclasses supply an empty, migrated database per test. */
abstract class ReplicaStoreContract {
  private static final Instant LEASE_END = T0.plusSeconds(10);

  private Database database;
  private ReplicaStore store;

  /** A migrated database with no replicas in it; closed after the test. */
  protected abstract Database openEmptyDatabase();

  @BeforeEach
  void openStore() {
    database = openEmptyDatabase();
    store = Stores.open(database).replicas();
  }

  @AfterEach
  void closeDatabase() {
    database.close();
  }

  private static Replica replica(String id, String incarnation, Instant until) {
    return new Replica(id, incarnation, "127.0.0.1:" + (50000 + incarnation.hashCode() % 1000), "host-a", 42, T0, until);
  }

  @Test
  void aFreeIdIsTakenAndListedAsLive() {
    assertThat(store.join(replica("r1", "i1", LEASE_END), T0, r -> false)).isEmpty();

    assertThat(store.live(T0.plusSeconds(1))).containsExactly(replica("r1", "i1", LEASE_END));
    assertThat(store.live(LEASE_END)).isEmpty();
  }

  @Test
  void anIdHeldByALiveReplicaIsRefusedNamingTheHolder() {
    store.join(replica("r1", "i1", LEASE_END), T0, r -> false);

    var refused = store.join(replica("r1", "i2", LEASE_END.plusSeconds(5)), T0.plusSeconds(5), r -> false);

    assertThat(refused).contains(replica("r1", "i1", LEASE_END));
    assertThat(store.live(T0.plusSeconds(5))).extracting(Replica::incarnation).containsExactly("i1");
  }

  @Test
  void anExpiredIdIsTakenOver() {
    store.join(replica("r1", "i1", LEASE_END), T0, r -> false);

    assertThat(store.join(replica("r1", "i2", LEASE_END.plusSeconds(20)), LEASE_END.plusSeconds(1), r -> false)).isEmpty();

    assertThat(store.live(LEASE_END.plusSeconds(2))).extracting(Replica::incarnation).containsExactly("i2");
    // The old incarnation is fenced: it can no longer renew.
    assertThat(store.renew("r1", "i1", LEASE_END.plusSeconds(2), LEASE_END.plusSeconds(30))).isFalse();
    assertThat(store.renew("r1", "i2", LEASE_END.plusSeconds(2), LEASE_END.plusSeconds(30))).isTrue();
  }

  @Test
  void aLiveIdWhoseHolderIsStaleIsTakenOver() {
    store.join(replica("r1", "i1", LEASE_END), T0, r -> false);

    var taken = store.join(replica("r1", "i2", LEASE_END), T0.plusSeconds(1), r -> r.incarnation().equals("i1"));

    assertThat(taken).isEmpty();
    assertThat(store.live(T0.plusSeconds(1))).extracting(Replica::incarnation).containsExactly("i2");
  }

  @Test
  void renewingExtendsTheLeaseAndLeavingEndsIt() {
    store.join(replica("r1", "i1", LEASE_END), T0, r -> false);

    assertThat(store.renew("r1", "i1", T0.plusSeconds(5), T0.plusSeconds(15))).isTrue();
    assertThat(store.live(T0.plusSeconds(12))).hasSize(1);

    store.leave("r1", "i1", T0.plusSeconds(13));
    assertThat(store.live(T0.plusSeconds(13))).isEmpty();
    assertThat(store.join(replica("r1", "i2", T0.plusSeconds(30)), T0.plusSeconds(13), r -> false)).isEmpty();
  }

  @Test
  void ofConcurrentJoinersWithOneIdExactlyOneWins() throws Exception {
    assertThat(Race.winners(8, i -> store.join(replica("r1", "i" + i, LEASE_END), T0, r -> false).isEmpty())).isEqualTo(1);
  }

  @Test
  void aLeaseHasOneHolderUntilItExpiresOrIsGivenUp() {
    assertThat(store.holdLease("leader", "r1", T0, LEASE_END)).isTrue();
    assertThat(store.holdLease("leader", "r2", T0.plusSeconds(1), T0.plusSeconds(11))).isFalse();
    assertThat(store.leaseHolder("leader", T0.plusSeconds(1))).contains("r1");

    // Its holder extends it; another takes it once it has expired.
    assertThat(store.holdLease("leader", "r1", T0.plusSeconds(5), T0.plusSeconds(15))).isTrue();
    assertThat(store.holdLease("leader", "r2", T0.plusSeconds(12), T0.plusSeconds(22))).isFalse();
    assertThat(store.holdLease("leader", "r2", T0.plusSeconds(15), T0.plusSeconds(25))).isTrue();
    assertThat(store.leaseHolder("leader", T0.plusSeconds(16))).contains("r2");

    store.releaseLease("leader", "r1"); // not the holder: no effect
    assertThat(store.leaseHolder("leader", T0.plusSeconds(16))).contains("r2");
    store.releaseLease("leader", "r2");
    assertThat(store.leaseHolder("leader", T0.plusSeconds(16))).isEmpty();
    assertThat(store.holdLease("leader", "r1", T0.plusSeconds(16), T0.plusSeconds(26))).isTrue();
  }

  @Test
  void ofConcurrentCandidatesForAFreeLeaseExactlyOneHoldsIt() throws Exception {
    assertThat(Race.winners(8, i -> store.holdLease("leader", "r" + i, T0, LEASE_END))).isEqualTo(1);
  }

  @Test
  void commandsLeftForAReplicaAreTakenByItOnceOldestFirst() {
    var drain = new io.hodei.core.replica.WorkerCommand(
        "r2", new io.hodei.core.worker.WorkerId("w-1"), io.hodei.core.replica.WorkerCommand.Kind.DRAIN, "upgrade", T0);
    var deregister = new io.hodei.core.replica.WorkerCommand(
        "r2", new io.hodei.core.worker.WorkerId("w-2"), io.hodei.core.replica.WorkerCommand.Kind.DEREGISTER, "", T0.plusSeconds(1));
    var forOther = new io.hodei.core.replica.WorkerCommand(
        "r3", new io.hodei.core.worker.WorkerId("w-3"), io.hodei.core.replica.WorkerCommand.Kind.DRAIN, "", T0);
    store.send(deregister);
    store.send(drain);
    store.send(forOther);

    assertThat(store.take("r2")).containsExactly(drain, deregister);
    assertThat(store.take("r2")).isEmpty();
    assertThat(store.take("r3")).containsExactly(forOther);
  }

  @Test
  void aNudgeWakesTheReplicaItIsForWhereTheDatabaseCanNudge() throws Exception {
    var waiting = java.util.concurrent.Executors.newSingleThreadExecutor();
    try {
      // The listener is set up by a first, short wait.
      assertThat(store.awaitNudge("r1", java.time.Duration.ofMillis(50))).isFalse();
      var nudged = waiting.submit(() -> store.awaitNudge("r1", java.time.Duration.ofSeconds(nudges() ? 20 : 1)));
      Thread.sleep(200);
      store.nudge("r2"); // for another replica: r1 goes on waiting
      store.nudge("r1");

      assertThat(nudged.get(30, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(nudges());
    } finally {
      waiting.shutdownNow();
    }
  }

  /** Whether this database delivers nudges (PostgreSQL's NOTIFY); without, a wait just passes. */
  protected abstract boolean nudges();
}
