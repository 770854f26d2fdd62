-- Job specs by specHash: the RFC 8785 canonical JSON whose keccak256 is the hash.
CREATE TABLE specs (
    -- `0x` and 64 lowercase hex digits.
    spec_hash TEXT PRIMARY KEY CHECK (length(spec_hash) = 66),
    canonical_json TEXT NOT NULL,
    -- Unix seconds.
    created_at BIGINT NOT NULL
);
