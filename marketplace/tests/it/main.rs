//! Integration tests: each starts the real server on an ephemeral 127.0.0.1 port and talks HTTP to it.

mod auth;
mod blobs;
mod devices;
mod service;
mod specs;
mod stored_specs;
mod util;
mod web;
