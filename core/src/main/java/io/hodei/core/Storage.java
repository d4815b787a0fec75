package io.hodei.core;

import io.hodei.core.job.JobStore;
import io.hodei.core.log.LogStore;
import io.hodei.core.secret.SecretVault;
import io.hodei.core.worker.OtpStore;
import io.hodei.core.worker.WorkerStore;

/**
 * The storage ports the control plane runs on, as one value for wiring, and whether their storage
 * can write now.
 */
public record Storage(
    JobStore jobs,
    LogStore logs,
    WorkerStore workers,
    OtpStore otps,
    SecretVault secrets,
    io.hodei.core.auth.TokenStore tokens,
    io.hodei.core.auth.AuditLog audit,
    StorageCondition condition,
    io.hodei.core.replica.ReplicaStore replicas) {}
