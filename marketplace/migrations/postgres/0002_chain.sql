-- The chain indexer's tables: the market's events as they were applied, the jobs view folded from them, and the
-- cursor with the recent block hashes that reorgs are detected against. Written only by the indexer.

-- One row per job: the fold of its rows in job_events (a reorg deletes events and folds the job again).
CREATE TABLE jobs (
    -- `0x` and 64 lowercase hex digits (job ids are keccak hashes).
    job_id TEXT PRIMARY KEY CHECK (length(job_id) = 66),
    -- Addresses: `0x` and 40 lowercase hex digits.
    requester TEXT NOT NULL,
    worker TEXT,
    -- snake_case JobState: open, claimed, submitted, auditing, verified, disputed, finalized, slashed, refunded,
    -- expired.
    state TEXT NOT NULL,
    -- The current state's deadline, Unix seconds; 0 if none.
    deadline BIGINT NOT NULL,
    spec_hash TEXT NOT NULL,
    -- Amounts in USDT base units as 24-digit zero-padded decimals, so text order is numeric order (amounts fit
    -- uint72, 22 digits).
    reward TEXT NOT NULL CHECK (length(reward) = 24),
    verifier_fee TEXT NOT NULL CHECK (length(verifier_fee) = 24),
    worker_bond TEXT NOT NULL CHECK (length(worker_bond) = 24),
    total_steps BIGINT NOT NULL,
    checkpoint_interval BIGINT NOT NULL,
    num_intervals BIGINT NOT NULL,
    sample_count BIGINT NOT NULL,
    open_until BIGINT NOT NULL,
    train_duration BIGINT NOT NULL,
    -- Set by ResultSubmitted.
    trace_root TEXT,
    adapter_hash TEXT,
    -- The block whose hash seeds the audit (ResultSubmitted, AuditReanchored).
    anchor_block BIGINT,
    -- Set by AuditStarted: the seed, the sampled intervals and their verifiers (JSON arrays).
    audit_seed TEXT,
    audit_intervals TEXT NOT NULL DEFAULT '[]',
    verifiers TEXT NOT NULL DEFAULT '[]',
    -- CheckpointsRevealed: start state hashes in sampled-interval order (JSON array).
    revealed_start_hashes TEXT NOT NULL DEFAULT '[]',
    -- Positions in the audit attested or upheld by a committee (JSON array).
    attested_indexes TEXT NOT NULL DEFAULT '[]',
    -- Every dispute with its committee, votes and outcome (JSON array of objects).
    disputes TEXT NOT NULL DEFAULT '[]',
    -- The last dispute's outcome: worker_honest, worker_cheated or undecided.
    dispute_outcome TEXT,
    -- Where JobCreated is: the list's order (newest first) and its keyset cursor.
    created_block BIGINT NOT NULL,
    created_log_index BIGINT NOT NULL,
    created_tx TEXT NOT NULL,
    -- The block of the job's last event.
    updated_block BIGINT NOT NULL
);
-- GET /v1/jobs: newest first, alone or filtered by one of state, requester, worker.
CREATE INDEX jobs_created ON jobs (created_block DESC, created_log_index DESC);
CREATE INDEX jobs_state_created ON jobs (state, created_block DESC, created_log_index DESC);
CREATE INDEX jobs_requester_created ON jobs (requester, created_block DESC, created_log_index DESC);
CREATE INDEX jobs_worker_created ON jobs (worker, created_block DESC, created_log_index DESC);

-- The market's job events in chain order: each job's timeline.
CREATE TABLE job_events (
    block_number BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    job_id TEXT NOT NULL,
    -- The event's name (JobCreated, JobStateChanged, ...).
    kind TEXT NOT NULL,
    -- Its fields as JSON, snake_case; amounts as decimal strings.
    data TEXT NOT NULL,
    PRIMARY KEY (block_number, log_index)
);
CREATE INDEX job_events_job ON job_events (job_id, block_number, log_index);

-- The market's staking and balance events (Staked, StakeSlashed, Credited, Withdrawn, ...), by account.
CREATE TABLE account_events (
    block_number BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    block_hash TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- The job of a Credited event.
    job_id TEXT,
    -- The event's amount (decimal, base units), when it has one.
    amount TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY (block_number, log_index)
);
CREATE INDEX account_events_account ON account_events (account, block_number, log_index);

-- The last block whose events are applied (one row: a database indexes one market).
CREATE TABLE chain_cursor (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    market TEXT NOT NULL,
    block_number BIGINT NOT NULL,
    block_hash TEXT NOT NULL
);

-- Hashes of recently processed blocks (each batch's last block and every block with events): a reorg's common
-- ancestor is the newest of them still on the chain.
CREATE TABLE chain_blocks (
    block_number BIGINT PRIMARY KEY,
    block_hash TEXT NOT NULL
);
