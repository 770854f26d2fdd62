//! Integration tests against a real local chain: each test spawns its own anvil with the
//! market deployed ([`tern_contracts::devnet`]) and plays one scenario through the typed
//! client, with distinct anvil accounts per actor.
//!
//! Needs the anvil binary: `TERN_ANVIL`, `anvil` on `PATH`, or the repository's pinned copy
//! under `node_modules/` (`deploy/toolchain.sh`). Sampled intervals and drawn verifiers
//! depend on block hashes; every scenario is built to hold for any draw (fake traces are
//! seeded, the cheat sits in the last interval, which is always sampled).

mod common;

mod cheating;
mod errors;
mod expiry;
mod honest;
mod permit;
mod replacement;
mod staking;
