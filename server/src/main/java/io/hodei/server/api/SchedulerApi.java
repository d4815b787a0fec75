package io.hodei.server.api;

import io.grpc.stub.StreamObserver;
import io.hodei.api.v1.GetQueueStatusRequest;
import io.hodei.api.v1.GetQueueStatusResponse;
import io.hodei.api.v1.ListWorkersRequest;
import io.hodei.api.v1.ListWorkersResponse;
import io.hodei.api.v1.SchedulerServiceGrpc;
import io.hodei.core.job.JobState;
import io.hodei.core.job.JobStore;
import io.hodei.server.workers.WorkerRegistry;

/** The queue and the workers as the scheduler sees them. {@code ScheduleJob} comes later. */
public final class SchedulerApi extends SchedulerServiceGrpc.SchedulerServiceImplBase {
  private final JobStore jobs;
  private final WorkerRegistry registry;

  public SchedulerApi(JobStore jobs, WorkerRegistry registry) {
    this.jobs = jobs;
    this.registry = registry;
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
    registry.snapshot().forEach(w -> b.addWorkers(ApiMapper.toApi(w)));
    response.onNext(b.build());
    response.onCompleted();
  }
}
