//! The server: binds the listener, builds the state and serves the routes.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use utoipa::OpenApi;

use crate::auth::SignInPolicy;
use crate::blobs::LocalBlobStore;
use crate::config::Config;
use crate::db::Database;
use crate::router::{self, ApiDoc, AppState};

/// A bound, ready-to-run marketplace server.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    router: Router,
    local_addr: SocketAddr,
    metrics: PrometheusHandle,
}

impl Server {
    /// Opens the blob store, connects to the database and migrates it, and binds `config.listen` (port 0 picks a
    /// free port; see [`Server::local_addr`]). A bad `database_url` is an error here.
    pub async fn bind(config: Config) -> std::io::Result<Self> {
        // The database first: a bad URL fails before anything is created on disk.
        let db = Database::connect(&config.database_url)
            .await
            .map_err(std::io::Error::other)?;
        tracing::info!(backend = ?db.backend(), "database ready");
        let sign_in = SignInPolicy::new(
            &config.public_url,
            config.chain_id,
            secs(config.nonce_ttl_secs),
        )
        .map_err(std::io::Error::other)?;
        let store = LocalBlobStore::open(&config.blob_dir)?;
        let metrics = router::prometheus();
        let state = AppState {
            store: Arc::new(store),
            db,
            max_blob_bytes: config.max_blob_bytes,
            max_json_bytes: config.max_json_bytes,
            metrics: metrics.clone(),
            sign_in: Arc::new(sign_in),
            nonce_ttl_secs: secs(config.nonce_ttl_secs),
            session_ttl_secs: secs(config.session_ttl_secs),
            upload_quota_bytes: config.upload_quota_bytes,
            // Wired to rpc_url and market_address with the chain indexer.
            requester_txs: None,
            openapi: serde_json::to_vec(&ApiDoc::openapi())
                .map_err(std::io::Error::other)?
                .into(),
        };
        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        Ok(Self {
            listener,
            router: router::router(state),
            local_addr,
            metrics,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until Ctrl-C, then finishes the requests in flight.
    pub async fn run(self) -> std::io::Result<()> {
        self.run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(addr = %self.local_addr, "marketplace listening");
        // The exporter keeps histogram samples until upkeep drains them into its summaries.
        let metrics = self.metrics;
        let upkeep = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                metrics.run_upkeep();
            }
        });
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        upkeep.abort();
        served
    }
}

/// A configured number of seconds as the database's integer type.
fn secs(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
