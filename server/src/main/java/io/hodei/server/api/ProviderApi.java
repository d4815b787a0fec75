package io.hodei.server.api;

import io.grpc.stub.StreamObserver;
import io.hodei.api.v1.GetProviderHealthRequest;
import io.hodei.api.v1.GetProviderHealthResponse;
import io.hodei.api.v1.HealthStatus;
import io.hodei.api.v1.ListProvidersRequest;
import io.hodei.api.v1.ListProvidersResponse;
import io.hodei.api.v1.Provider;
import io.hodei.api.v1.ProviderServiceGrpc;
import io.hodei.core.error.NotFoundException;
import io.hodei.core.provider.ProviderHealth;
import io.hodei.server.provisioning.Provisioner;
import io.hodei.wire.WireMapping;
import java.time.Clock;

/** Providers and their health (UC11, UC17). */
public final class ProviderApi extends ProviderServiceGrpc.ProviderServiceImplBase {
  private final Provisioner provisioner;
  private final Clock clock;

  public ProviderApi(Provisioner provisioner, Clock clock) {
    this.provisioner = provisioner;
    this.clock = clock;
  }

  @Override
  public void listProviders(
      ListProvidersRequest request, StreamObserver<ListProvidersResponse> response) {
    var health = provisioner.checkHealth();
    var b = ListProvidersResponse.newBuilder();
    for (var pool : provisioner.pools()) {
      b.addProviders(
          Provider.newBuilder()
              .setName(pool.name())
              .setType(pool.provider().type())
              .setHealth(toApi(health.get(pool.name())))
              .setWorkers(provisioner.count(pool) - provisioner.starting(pool))
              .setProvisioning(provisioner.starting(pool))
              .setMaxWorkers(pool.policy().maxWorkers()));
    }
    response.onNext(b.build());
    response.onCompleted();
  }

  @Override
  public void getProviderHealth(
      GetProviderHealthRequest request, StreamObserver<GetProviderHealthResponse> response) {
    var health = provisioner.checkHealth().get(request.getName());
    if (health == null) {
      throw new NotFoundException("provider", request.getName());
    }
    response.onNext(
        GetProviderHealthResponse.newBuilder()
            .setName(request.getName())
            .setHealth(toApi(health))
            .build());
    response.onCompleted();
  }

  private io.hodei.api.v1.ProviderHealth toApi(ProviderHealth health) {
    var b = io.hodei.api.v1.ProviderHealth.newBuilder().setCheckedAt(WireMapping.toWire(clock.instant()));
    switch (health) {
      case ProviderHealth.Healthy h -> b.setStatus(HealthStatus.HEALTH_STATUS_HEALTHY);
      case ProviderHealth.Degraded d ->
          b.setStatus(HealthStatus.HEALTH_STATUS_DEGRADED).setReason(d.reason());
      case ProviderHealth.Unhealthy u ->
          b.setStatus(HealthStatus.HEALTH_STATUS_UNHEALTHY).setReason(u.reason());
      case ProviderHealth.Unknown u -> b.setStatus(HealthStatus.HEALTH_STATUS_UNKNOWN);
    }
    return b.build();
  }
}
