//! Integration tests: each starts the real server on an ephemeral 127.0.0.1 port and talks HTTP to it.

mod blobs;
mod chain_util;
mod indexer;
mod jobs_api;
mod leader;
mod service;
mod specs;
mod stored_specs;
mod util;
