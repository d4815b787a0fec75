-- The pool that started the worker an OTP is for, so that a worker registering with a later life
-- of the control plane (it was started just before a crash) is counted as that pool's again.
ALTER TABLE otp_tokens ADD COLUMN pool VARCHAR(255) NOT NULL DEFAULT '';
