package io.hodei.core.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.core.error.AuthenticationException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/** Pure OTP rules. The gRPC-level check, over a real store and socket, is in the server's tests. */
class OtpServiceTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private final MutableClock clock = new MutableClock(T0);
  private final MapOtpStore store = new MapOtpStore();
  private final OtpService otps = new OtpService(store, clock, Duration.ofMinutes(5));
  private final WorkerId worker = new WorkerId("w-1");

  @Test
  void aFreshTokenRegistersItsWorker() {
    var otp = otps.issue(worker);
    assertThatCode(() -> otps.redeem(otp.token(), worker)).doesNotThrowAnyException();
  }

  @Test
  void redeemingNamesThePoolThatStartedTheWorker() {
    assertThat(otps.redeem(otps.issue(worker, "docker").token(), worker)).isEqualTo("docker");
    assertThat(otps.redeem(otps.issue(worker).token(), worker)).isEmpty();
  }

  @Test
  void onlyTheHashIsStored() {
    var otp = otps.issue(worker);
    assertThat(store.tokens).doesNotContainKey(otp.token()).containsKey(Secrets.sha256Hex(otp.token()));
  }

  @Test
  void anExpiredTokenIsRefused() {
    var otp = otps.issue(worker);
    clock.now = T0.plus(Duration.ofMinutes(5));
    assertThatThrownBy(() -> otps.redeem(otp.token(), worker))
        .isInstanceOf(AuthenticationException.class)
        .hasMessageContaining("expired");
  }

  @Test
  void aTokenWorksOnlyOnce() {
    var otp = otps.issue(worker);
    otps.redeem(otp.token(), worker);
    assertThatThrownBy(() -> otps.redeem(otp.token(), worker))
        .isInstanceOf(AuthenticationException.class)
        .hasMessageContaining("already used");
  }

  @Test
  void aTokenPresentedForAnotherWorkerIsRefusedAndStillRegistersItsOwnWorker() {
    var otp = otps.issue(worker);
    assertThatThrownBy(() -> otps.redeem(otp.token(), new WorkerId("w-2")))
        .isInstanceOf(AuthenticationException.class)
        .hasMessageContaining("another worker");
    assertThatCode(() -> otps.redeem(otp.token(), worker)).doesNotThrowAnyException();
  }

  @Test
  void aWrongTokenLeavesTheWorkersOwnTokenValid() {
    var otp = otps.issue(worker);
    assertThatThrownBy(() -> otps.redeem(java.util.UUID.randomUUID().toString(), worker))
        .isInstanceOf(AuthenticationException.class);
    assertThat(otps.hasOutstanding(worker)).isTrue();
    assertThatCode(() -> otps.redeem(otp.token(), worker)).doesNotThrowAnyException();
    assertThat(otps.hasOutstanding(worker)).isFalse();
  }

  @Test
  void aRevokedTokenIsRefused() {
    var otp = otps.issue(worker);
    var other = otps.issue(new WorkerId("w-2"));
    otps.revoke(worker);
    assertThat(otps.hasOutstanding(worker)).isFalse();
    assertThatThrownBy(() -> otps.redeem(otp.token(), worker))
        .isInstanceOf(AuthenticationException.class)
        .hasMessageContaining("revoked");
    assertThatCode(() -> otps.redeem(other.token(), new WorkerId("w-2")))
        .doesNotThrowAnyException();
  }

  @Test
  void anExpiredTokenIsNotOutstanding() {
    otps.issue(worker);
    clock.now = T0.plus(Duration.ofMinutes(5));
    assertThat(otps.hasOutstanding(worker)).isFalse();
  }

  @Test
  void unknownAndMalformedTokensAreRefused() {
    assertThatThrownBy(() -> otps.redeem("not-a-uuid", worker))
        .isInstanceOf(AuthenticationException.class);
    assertThatThrownBy(() -> otps.redeem(java.util.UUID.randomUUID().toString(), worker))
        .isInstanceOf(AuthenticationException.class)
        .hasMessageContaining("unknown");
  }


  static final class MutableClock extends Clock {
    volatile Instant now;

    MutableClock(Instant now) {
      this.now = now;
    }

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  /** The port's contract in a map; the JDBC adapter passes the same contract in its own tests. */
  static final class MapOtpStore implements OtpStore {
    /** No other replica here: the limit is this replica's own count. */
    @Override
    public boolean saveWithinPoolLimit(OtpToken token, String replicaId, int ownCount, int limit, Instant now) {
      if (ownCount >= limit) {
        return false;
      }
      save(token);
      return true;
    }

    final Map<String, OtpToken> tokens = new ConcurrentHashMap<>();

    @Override
    public void save(OtpToken token) {
      tokens.put(token.tokenHash(), token);
    }

    @Override
    public Optional<OtpToken> find(String tokenHash) {
      return Optional.ofNullable(tokens.get(tokenHash));
    }

    @Override
    public synchronized boolean consume(String tokenHash, WorkerId worker, Instant now) {
      OtpToken before = tokens.get(tokenHash);
      if (before == null
          || !before.workerId().equals(worker)
          || before.consumedAt().isPresent()
          || !now.isBefore(before.expiresAt())) {
        return false;
      }
      tokens.put(
          tokenHash,
          new OtpToken(before.tokenHash(), before.workerId(), before.expiresAt(), Optional.of(now)));
      return true;
    }

    @Override
    public synchronized int revoke(WorkerId worker) {
      int before = tokens.size();
      tokens.values().removeIf(t -> t.workerId().equals(worker));
      return before - tokens.size();
    }

    @Override
    public boolean hasOutstanding(WorkerId worker, Instant now) {
      return tokens.values().stream()
          .anyMatch(
              t ->
                  t.workerId().equals(worker)
                      && t.consumedAt().isEmpty()
                      && now.isBefore(t.expiresAt()));
    }
  }
}
