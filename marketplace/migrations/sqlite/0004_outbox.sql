-- The settlement sender's outbox: transactions the marketplace itself sends (DESIGN.md §5).

-- One intent per idempotency key (e.g. `expire:<jobId>`): enqueueing a key twice is a no-op.
CREATE TABLE outbox_intents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    -- `0x` and 40 lowercase hex digits.
    to_address TEXT NOT NULL CHECK (length(to_address) = 42),
    calldata BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'confirmed', 'failed', 'superseded')),
    -- Set when the intent is signed: the sending address and the nonce reserved for it.
    sender_address TEXT,
    nonce INTEGER,
    -- Set when it settles: the mined transaction (one of `outbox_txs`), its block, or why it failed.
    tx_hash TEXT,
    block_number INTEGER,
    error TEXT,
    -- Unix seconds.
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX outbox_intents_by_state ON outbox_intents (state, id);

-- Every signed transaction of an intent, recorded before it is broadcast: the first and each fee bump (same nonce).
CREATE TABLE outbox_txs (
    -- `0x` and 64 lowercase hex digits.
    tx_hash TEXT PRIMARY KEY CHECK (length(tx_hash) = 66),
    intent_id INTEGER NOT NULL REFERENCES outbox_intents (id),
    -- 0 for the first transaction, then 1, 2, ... for the fee bumps.
    attempt INTEGER NOT NULL,
    nonce INTEGER NOT NULL,
    gas_limit INTEGER NOT NULL,
    -- Wei per gas.
    max_fee_per_gas INTEGER NOT NULL,
    max_priority_fee_per_gas INTEGER NOT NULL,
    -- The signed EIP-2718 envelope, broadcast again as is after a restart.
    raw BLOB NOT NULL,
    -- The chain's latest block when it was signed.
    signed_block INTEGER NOT NULL,
    -- Unix seconds.
    created_at INTEGER NOT NULL,
    UNIQUE (intent_id, attempt)
);

-- The next nonce to assign, per sending address and chain.
CREATE TABLE outbox_nonces (
    sender_address TEXT NOT NULL,
    chain_id INTEGER NOT NULL,
    next_nonce INTEGER NOT NULL,
    PRIMARY KEY (sender_address, chain_id)
);
