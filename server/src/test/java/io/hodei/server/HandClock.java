package io.hodei.server;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** A clock the test moves by hand. Thread-safe: the control plane's threads read it. */
public final class HandClock extends Clock {
  private volatile Instant now;

  public HandClock(Instant now) {
    this.now = now;
  }

  public void advance(Duration step) {
    now = now.plus(step);
  }

  public void set(Instant instant) {
    now = instant;
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return this;
  }

  @Override
  public Instant instant() {
    return now;
  }
}
