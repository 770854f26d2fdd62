//! Tern's marketplace service (DESIGN.md §5): a versioned REST API over HTTP.
//!
//! This first part serves:
//!
//! - `POST /v1/specs/validate`: checks a job spec and returns its `specHash`, canonical JSON and escrow, or every
//!   invalid field.
//! - `POST /v1/specs` checks a job spec the same way and stores its canonical JSON under its `specHash` (201 when
//!   new, 200 when already stored); `GET /v1/specs/{spec_hash}` returns it. The database is SQLite (embedded, the
//!   default) or PostgreSQL, chosen by `database_url` and migrated at startup ([`db::Database`]).
//! - `PUT`/`GET`/`HEAD /v1/blobs/{content_id}`: a content-addressed blob store. An upload streams to storage while
//!   it is hashed and is kept only if its bytes hash to the id in the path ([`blobs::BlobStore`], with a local
//!   directory backend, [`blobs::LocalBlobStore`], and an S3-compatible one, [`blobs::S3BlobStore`]).
//! - The web page for requesters, device owners and verifiers (`/`, `/jobs/{job_id}`, `/post`, `/devices`,
//!   `/verify`): static HTML, CSS and ES modules embedded in the binary that call this API from the browser.
//! - `GET /v1/jobs` (filters `state`, `requester`, `worker`, `min_reward`; newest first with keyset pagination) and
//!   `GET /v1/jobs/{job_id}` (with the job's event timeline): the market's jobs as the chain indexer mirrors them
//!   from the contract's events ([`chain`]), with confirmations and reorg rollback. With `rpc_url` and
//!   `market_address` set, the indexer runs on the leader replica ([`chain::leader`]).
//! - The settlement sender ([`chain::sender`]): the transactions the service itself sends (expiries, audits
//!   nobody triggered), from an outbox of intents in the database, each sent once across crashes and restarts.
//! - `GET /v1/health` (with whether this replica leads), the OpenAPI 3 document at `GET /v1/openapi.json`, Prometheus metrics at `GET /metrics`.
//!
//! Every error is JSON, `{"error": {"code", "message", "fields"?}}`, mapped to its HTTP status in one place
//! ([`ApiError`]). Configuration comes from a TOML file, `TERN_MARKET_*` variables and flags ([`Config`]).
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use tern_marketplace::{Config, Server};
//!
//! let server = Server::bind(Config::default()).await?;
//! println!("listening on {}", server.local_addr());
//! server.run().await?;
//! # Ok(())
//! # }
//! ```

pub mod auth;
pub mod blobs;
pub mod chain;
mod config;
mod controllers;
pub mod db;
mod error;
mod rate_limit;
mod router;
mod server;
mod web;

pub use config::{Cli, Config, ConfigError, LogFormat};
pub use controllers::auth::login::{LoginRequest, SessionOpened};
pub use controllers::auth::nonce::NonceIssued;
pub use controllers::auth::session::SessionInfo;
pub use controllers::blobs::put::BlobStored;
pub use controllers::jobs::create::{JobPosted, TxToSend};
pub use controllers::jobs::get::JobDetail;
pub use controllers::jobs::list::JobList;
pub use controllers::service::Health;
pub use controllers::specs::validate::SpecValidated;
pub use error::{ApiError, ErrorBody, ErrorDetail, ErrorField};
pub use router::ApiDoc;
pub use server::Server;
