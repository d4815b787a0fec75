-- A worker's registration tokens, to revoke them when it is destroyed and to tell whether it has
-- one outstanding (see JdbcOtpStore.revoke and hasOutstanding).
CREATE INDEX otp_tokens_by_worker ON otp_tokens (worker_id);
