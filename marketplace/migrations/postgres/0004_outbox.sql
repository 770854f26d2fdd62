-- The settlement sender's outbox: transactions the marketplace itself sends (DESIGN.md §5).

-- One intent per idempotency key (e.g. `expire:<jobId>`): enqueueing a key twice is a no-op.
CREATE TABLE outbox_intents (
    id BIGSERIAL PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    -- `0x` and 40 lowercase hex digits.
    to_address TEXT NOT NULL CHECK (length(to_address) = 42),
    calldata BYTEA NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'confirmed', 'failed', 'superseded')),
    -- Set when the intent is signed: the sending address and the nonce reserved for it.
    sender_address TEXT,
    nonce BIGINT,
    -- Set when it settles: the mined transaction (one of `outbox_txs`), its block, or why it failed.
    tx_hash TEXT,
    block_number BIGINT,
    error TEXT,
    -- Unix seconds.
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX outbox_intents_by_state ON outbox_intents (state, id);

-- Every signed transaction of an intent, recorded before it is broadcast: the first and each fee bump (same nonce).
CREATE TABLE outbox_txs (
    -- `0x` and 64 lowercase hex digits.
    tx_hash TEXT PRIMARY KEY CHECK (length(tx_hash) = 66),
    intent_id BIGINT NOT NULL REFERENCES outbox_intents (id),
    -- 0 for the first transaction, then 1, 2, ... for the fee bumps.
    attempt BIGINT NOT NULL,
    nonce BIGINT NOT NULL,
    gas_limit BIGINT NOT NULL,
    -- Wei per gas.
    max_fee_per_gas BIGINT NOT NULL,
    max_priority_fee_per_gas BIGINT NOT NULL,
    -- The signed EIP-2718 envelope, broadcast again as is after a restart.
    raw BYTEA NOT NULL,
    -- The chain's latest block when it was signed.
    signed_block BIGINT NOT NULL,
    -- Unix seconds.
    created_at BIGINT NOT NULL,
    UNIQUE (intent_id, attempt)
);

-- The next nonce to assign, per sending address and chain.
CREATE TABLE outbox_nonces (
    sender_address TEXT NOT NULL,
    chain_id BIGINT NOT NULL,
    next_nonce BIGINT NOT NULL,
    PRIMARY KEY (sender_address, chain_id)
);
