package io.hodei.server.api;

import io.grpc.stub.StreamObserver;
import io.hodei.api.v1.GetQueueStatusRequest;
import io.hodei.api.v1.GetQueueStatusResponse;
import io.hodei.api.v1.ListWorkersRequest;
import io.hodei.api.v1.ListWorkersResponse;
import io.hodei.api.v1.SchedulerServiceGrpc;
import io.hodei.core.job.JobState;
import io.hodei.core.job.JobStore;
import io.hodei.server.provisioning.Provisioner;
import io.hodei.server.workers.WorkerRegistry;

/** The queue and the workers as the scheduler sees them. {@code ScheduleJob} comes later. */
public final class SchedulerApi extends SchedulerServiceGrpc.SchedulerServiceImplBase {
  private final JobStore jobs;
  private final WorkerRegistry registry;
  private final Provisioner provisioner;

  public SchedulerApi(JobStore jobs, WorkerRegistry registry, Provisioner provisioner) {
    this.jobs = jobs;
    this.registry = registry;
    this.provisioner = provisioner;
  }

  @Override
  public void getQueueStatus(
      GetQueueStatusRequest request, StreamObserver<GetQueueStatusResponse> response) {
    var counts = jobs.countByState();
    response.onNext(
        GetQueueStatusResponse.newBuilder()
            .setPending(counts.getOrDefault(JobState.PENDING, 0L))
            .setScheduled(counts.getOrDefault(JobState.SCHEDULED, 0L))
            .setRunning(counts.getOrDefault(JobState.RUNNING, 0L))
            .build());
    response.onCompleted();
  }

  @Override
  public void listWorkers(ListWorkersRequest request, StreamObserver<ListWorkersResponse> response) {
    var b = ListWorkersResponse.newBuilder();
    var starting = provisioner.startingWorkers();
    var startingIds = new java.util.HashSet<io.hodei.core.worker.WorkerId>();
    starting.forEach(e -> startingIds.add(e.getKey()));
    var known = new java.util.HashSet<String>();
    registry.snapshot().forEach(w -> {
      known.add(w.info().id().value());
      var worker = ApiMapper.toApi(w);
      if (!w.attached() && startingIds.contains(w.info().id())) {
        worker = worker.toBuilder().setStatus(io.hodei.api.v1.WorkerStatus.WORKER_STATUS_CREATING).build();
      }
      b.addWorkers(worker);
    });
    for (var entry : starting) {
      if (known.add(entry.getKey().value())) {
        b.addWorkers(
            io.hodei.api.v1.Worker.newBuilder()
                .setInfo(io.hodei.api.v1.WorkerInfo.newBuilder().setWorkerId(entry.getKey().value()))
                .setStatus(io.hodei.api.v1.WorkerStatus.WORKER_STATUS_CREATING)
                .setProvider(entry.getValue()));
      }
    }
    response.onNext(b.build());
    response.onCompleted();
  }
}
