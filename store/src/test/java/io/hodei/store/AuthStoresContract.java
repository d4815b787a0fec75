package io.hodei.store;

import static io.hodei.store.TestJobs.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.core.auth.ApiToken;
import io.hodei.core.auth.AuditEvent;
import io.hodei.core.auth.Role;
import io.hodei.core.error.ConflictException;
import io.hodei.core.job.JobQuery;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the token store, the audit log and job ownership must do on every database. Subclasses
 * supply an empty, migrated database per test.
 */
abstract class AuthStoresContract {
  Database database;
  io.hodei.core.Storage stores;

  /** A migrated database with nothing in it; closed after the test. */
  protected abstract Database openEmptyDatabase();

  @BeforeEach
  void open() {
    database = openEmptyDatabase();
    stores = Stores.open(database);
  }

  @AfterEach
  void close() {
    database.close();
  }

  private static ApiToken token(String name, String hash) {
    return new ApiToken(
        name, hash, Role.USER, T0, Optional.of(T0.plusSeconds(60)), Optional.empty());
  }

  @Test
  void aTokenIsFoundByItsHashAndRevokedOnceForGood() {
    stores.tokens().save(token("ci", "h1"));

    assertThat(stores.tokens().findByHash("h1")).contains(token("ci", "h1"));
    assertThat(stores.tokens().revoke("ci", T0.plusSeconds(5))).isTrue();
    assertThat(stores.tokens().revoke("ci", T0.plusSeconds(9))).isTrue();
    assertThat(stores.tokens().findByHash("h1").orElseThrow().revokedAt())
        .contains(T0.plusSeconds(5));
    assertThat(stores.tokens().revoke("nobody", T0)).isFalse();
    assertThat(stores.tokens().list()).extracting(ApiToken::name).containsExactly("ci");
  }

  @Test
  void aTokenNameIsTakenEvenAfterRevocation() {
    stores.tokens().save(token("ci", "h1"));
    stores.tokens().revoke("ci", T0);

    assertThatThrownBy(() -> stores.tokens().save(token("ci", "h2")))
        .isInstanceOf(ConflictException.class);
  }

  @Test
  void auditEventsAreListedOldestFirstFilteredBySinceAndKind() {
    stores
        .audit()
        .record(
            new AuditEvent(
                T0, AuditEvent.Kind.TOKEN_CREATED, "root", "ci", "role user", "127.0.0.1:1"));
    stores
        .audit()
        .record(
            new AuditEvent(
                T0.plusSeconds(1), AuditEvent.Kind.PERMISSION_DENIED, "bob", "j-1", "not his", ""));
    stores
        .audit()
        .record(
            new AuditEvent(
                T0.plusSeconds(2), AuditEvent.Kind.TOKEN_REVOKED, "root", "ci", "revoked", ""));

    assertThat(stores.audit().list(T0, Optional.empty(), 10))
        .extracting(AuditEvent::kind)
        .containsExactly(
            AuditEvent.Kind.TOKEN_CREATED,
            AuditEvent.Kind.PERMISSION_DENIED,
            AuditEvent.Kind.TOKEN_REVOKED);
    assertThat(
            stores.audit().list(T0.plusSeconds(1), Optional.of(AuditEvent.Kind.TOKEN_REVOKED), 10))
        .extracting(AuditEvent::actor)
        .containsExactly("root");
    assertThat(stores.audit().list(T0, Optional.empty(), 2))
        .extracting(AuditEvent::kind)
        .containsExactly(AuditEvent.Kind.PERMISSION_DENIED, AuditEvent.Kind.TOKEN_REVOKED);
  }

  @Test
  void repeatsAreCountedIntoTheirRowAndPruningKeepsTheNewestWithinAge() {
    var audit = stores.audit();
    String first = audit.record(new AuditEvent(T0, AuditEvent.Kind.PERMISSION_DENIED, "eve", "j-1", "not hers", "10.0.0.1:5"));
    audit.addRepeats(first, 41, T0.plusSeconds(30));
    for (int i = 1; i <= 5; i++) {
      audit.record(new AuditEvent(T0.plusSeconds(100 * i), AuditEvent.Kind.TOKEN_CREATED, "root", "t" + i, "", ""));
    }

    var listed = audit.list(T0, Optional.of(AuditEvent.Kind.PERMISSION_DENIED), 10);
    assertThat(listed).singleElement().satisfies(e -> {
      assertThat(e.repeats()).isEqualTo(42);
      assertThat(e.lastAt()).isEqualTo(T0.plusSeconds(30));
    });

    // Older than T0+150s goes (the denial and t1), then only the newest 2 of the rest stay.
    assertThat(audit.prune(T0.plusSeconds(150), 2)).isEqualTo(4);
    assertThat(audit.list(T0, Optional.empty(), 10)).extracting(AuditEvent::target).containsExactly("t4", "t5");
  }

  @Test
  void jobsKeepTheirOwnerAndAreListedPerOwner() {
    var alices =
        stores
            .jobs()
            .insert(
                io.hodei.core.job.Job.queued(
                    io.hodei.core.job.JobId.random(), TestJobs.everyFieldSet(), "alice", T0),
                "queued");
    stores
        .jobs()
        .insert(
            io.hodei.core.job.Job.queued(
                io.hodei.core.job.JobId.random(), TestJobs.everyFieldSet(), "bob", T0),
            "queued");

    assertThat(stores.jobs().find(alices.id()).orElseThrow().owner()).isEqualTo("alice");
    assertThat(stores.jobs().list(JobQuery.all().ownedBy("alice")).items()).containsExactly(alices);
    assertThat(stores.jobs().list(JobQuery.all()).items()).hasSize(2);
  }
}
