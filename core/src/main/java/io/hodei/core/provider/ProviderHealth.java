package io.hodei.core.provider;

/** A provider's health (seed UC11). Only a healthy or degraded provider gets new workers. */
public sealed interface ProviderHealth {
  record Healthy() implements ProviderHealth {}

  record Degraded(String reason) implements ProviderHealth {}

  record Unhealthy(String reason) implements ProviderHealth {}

  record Unknown() implements ProviderHealth {}

  default boolean canProvision() {
    return this instanceof Healthy || this instanceof Degraded;
  }
}
