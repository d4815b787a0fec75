package io.hodei.server.api;

import io.grpc.stub.StreamObserver;
import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.GetJobResponse;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.ListJobsRequest;
import io.hodei.api.v1.ListJobsResponse;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.api.v1.QueueJobResponse;
import io.hodei.core.error.InvalidSpecException;
import io.hodei.core.job.Job;
import io.hodei.core.job.JobId;
import io.hodei.core.job.JobQuery;
import io.hodei.core.job.JobService;
import io.hodei.core.job.JobState;
import io.hodei.core.job.Page;
import io.hodei.wire.WireMapping;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;

/**
 * UC1 and the user's view of jobs. Calls not overridden here answer {@code UNIMPLEMENTED} until the
 * issue that brings them.
 */
public final class JobExecutionApi extends JobExecutionServiceGrpc.JobExecutionServiceImplBase {
  private final JobService jobs;

  public JobExecutionApi(JobService jobs) {
    this.jobs = jobs;
  }

  @Override
  public void queueJob(QueueJobRequest request, StreamObserver<QueueJobResponse> response) {
    if (!request.hasDefinition()) {
      throw new InvalidSpecException("definition", "is required");
    }
    if (request.getDefinition().getSecretsCount() > 0) {
      throw new UnsupportedOperationException(
          "definition.secrets: secret delivery is not available yet; pass no secrets");
    }
    Job job = jobs.queue(WireMapping.toDomain(request.getDefinition()));
    response.onNext(
        QueueJobResponse.newBuilder()
            .setJobId(job.id().value())
            .setJob(ApiMapper.toApi(job, List.of()))
            .build());
    response.onCompleted();
  }

  @Override
  public void getJob(GetJobRequest request, StreamObserver<GetJobResponse> response) {
    JobId id = jobId(request.getJobId());
    Job job = jobs.get(id);
    response.onNext(
        GetJobResponse.newBuilder().setJob(ApiMapper.toApi(job, jobs.attempts(id))).build());
    response.onCompleted();
  }

  @Override
  public void listJobs(ListJobsRequest request, StreamObserver<ListJobsResponse> response) {
    if (request.getPageSize() < 0) {
      throw new InvalidSpecException("page_size", "must not be negative");
    }
    var states = EnumSet.noneOf(JobState.class);
    for (var state : request.getStatesList()) {
      states.add(
          WireMapping.toDomain(state)
              .orElseThrow(() -> new InvalidSpecException("states", "unknown state " + state)));
    }
    var query =
        new JobQuery(
            states,
            request.getLabelsMap(),
            request.getNamePrefix().isEmpty()
                ? Optional.empty()
                : Optional.of(request.getNamePrefix()),
            request.hasCreatedAfter()
                ? Optional.of(WireMapping.toDomain(request.getCreatedAfter()))
                : Optional.empty(),
            request.hasCreatedBefore()
                ? Optional.of(WireMapping.toDomain(request.getCreatedBefore()))
                : Optional.empty(),
            request.getPageSize(),
            request.getPageToken().isEmpty()
                ? Optional.empty()
                : Optional.of(request.getPageToken()));
    Page<Job> page = jobs.list(query);
    var b = ListJobsResponse.newBuilder();
    page.items().forEach(job -> b.addJobs(ApiMapper.toApi(job, List.of())));
    page.nextPageToken().ifPresent(b::setNextPageToken);
    response.onNext(b.build());
    response.onCompleted();
  }

  static JobId jobId(String value) {
    if (value.isBlank()) {
      throw new InvalidSpecException("job_id", "must not be empty");
    }
    return new JobId(value);
  }
}
