-- Wallet sign-in (EIP-4361): nonces handed out and not yet used, and the sessions they opened.
CREATE TABLE auth_nonces (
    nonce TEXT PRIMARY KEY NOT NULL,
    -- Unix seconds.
    expires_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    -- sha256 of the bearer token, hex: a leaked database does not leak usable tokens.
    token_hash TEXT PRIMARY KEY NOT NULL,
    -- `0x` and 40 lowercase hex digits.
    address TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- Who uploaded which blob, and how many bytes: per-address upload quotas.
CREATE TABLE blob_uploads (
    content_id TEXT NOT NULL,
    address TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (content_id, address)
);
CREATE INDEX blob_uploads_by_address ON blob_uploads (address, created_at);

-- Workers' devices, registered by their owner's address with the probe the worker ran.
CREATE TABLE devices (
    device_id TEXT PRIMARY KEY NOT NULL,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The probe as JSON (backend, adapter, memory, threads).
    probe_json TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    UNIQUE (owner, name)
);

-- Training progress the job's worker reports: the job page's live loss curve. Not on chain, not trusted for money.
CREATE TABLE job_progress (
    job_id TEXT NOT NULL,
    step BIGINT NOT NULL,
    loss DOUBLE PRECISION NOT NULL,
    tokens_per_second DOUBLE PRECISION NOT NULL,
    eta_seconds BIGINT,
    reported_at BIGINT NOT NULL,
    PRIMARY KEY (job_id, step)
);
