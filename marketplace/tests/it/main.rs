//! Integration tests: each starts the real server on an ephemeral 127.0.0.1 port and talks HTTP to it.

mod accounts;
mod api_fuzz;
mod auth;
mod blobs;
mod browser;
mod chain_util;
mod devices;
mod indexer;
mod job_flow;
mod jobs_api;
mod keeper;
mod leader;
mod moto;
mod sender;
mod service;
mod specs;
mod stored_specs;
mod util;
mod web;
