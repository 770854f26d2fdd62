//! The server: binds the listener, builds the state and serves the routes.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use alloy::providers::{Provider, ProviderBuilder};
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

use crate::auth::SignInPolicy;
use crate::chain::keeper::{self, Keeper};
use crate::chain::requester_txs::RequesterTxs;
use crate::chain::sender::SenderConfig;
use crate::chain::{Indexer, IndexerConfig, Leader};
use crate::config::Config;
use crate::db::Database;
use crate::rate_limit;
use crate::router::{self, ApiDoc, AppState, SignInLimit};

/// A bound, ready-to-run marketplace server.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    router: Router,
    local_addr: SocketAddr,
    metrics: PrometheusHandle,
    /// Forgets rate-limited clients that are back within their limit.
    limiter_upkeep: Option<rate_limit::Upkeep>,
    /// The election and the tasks only the leader runs (the chain indexer when `rpc_url` is set).
    leader: Leader,
}

impl Server {
    /// Opens the blob store, connects to the database and migrates it, and binds `config.listen` (port 0 picks a
    /// free port; see [`Server::local_addr`]). A bad `database_url`, an `rpc_url` that does not parse or comes
    /// without `market_address`, or an S3 blob store whose bucket cannot be reached, is an error here. The chain
    /// is not contacted until the server runs.
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
        let requester_txs = match (&config.rpc_url, config.market_address) {
            (Some(url), Some(market)) => Some(Arc::new(
                RequesterTxs::new(url, market).map_err(std::io::Error::other)?,
            )),
            _ => None,
        };
        let indexer = match (&config.rpc_url, config.market_address) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(std::io::Error::other(
                    "rpc_url is set but market_address is not: set both to index the market \
                     (market_address, TERN_MARKET_MARKET_ADDRESS or --market-address)",
                ));
            }
            (Some(url), Some(market)) => {
                let indexer_config = IndexerConfig {
                    start_block: config.start_block,
                    confirmations: config.confirmations,
                    poll_interval: Duration::from_millis(config.poll_interval_ms),
                    max_block_range: config.max_block_range.max(1),
                    ..IndexerConfig::new(url.clone(), market)
                };
                Some(Indexer::new(db.clone(), indexer_config).map_err(std::io::Error::other)?)
            }
        };
        let mut leader =
            Leader::new(db.clone()).check_interval(Duration::from_millis(config.leader_check_ms));
        if let Some(indexer) = indexer {
            leader = leader.task("indexer", move |stop| {
                let indexer = indexer.clone();
                async move { indexer.run(stop).await }
            });
        }
        if let (Some(url), Some(market), Some(key)) =
            (&config.rpc_url, config.market_address, &config.sender_key)
        {
            let provider = ProviderBuilder::new()
                .connect_http(url.parse().map_err(std::io::Error::other)?)
                .erased();
            let keeper = Keeper::new(db.clone(), provider, market);
            let sender_config = SenderConfig {
                chain_id: Some(config.chain_id),
                ..config.sender.clone()
            };
            let (url, key) = (url.clone(), key.clone());
            leader = leader.task("settlement", move |stop| {
                keeper::settle(
                    keeper.clone(),
                    url.clone(),
                    key.clone(),
                    sender_config.clone(),
                    stop,
                )
            });
        }
        let store = crate::blobs::open(&config.blob_store, &config.blob_dir, &config.s3)
            .await
            .map_err(std::io::Error::other)?;
        let metrics = router::prometheus();
        let state = AppState {
            store,
            db,
            max_blob_bytes: config.max_blob_bytes,
            max_json_bytes: config.max_json_bytes,
            metrics: metrics.clone(),
            sign_in: Arc::new(sign_in),
            nonce_ttl_secs: secs(config.nonce_ttl_secs),
            session_ttl_secs: secs(config.session_ttl_secs),
            upload_quota_bytes: config.upload_quota_bytes,
            requester_txs,
            job_pages: Arc::default(),
            leader: leader.status(),
            openapi: serde_json::to_vec(&ApiDoc::openapi())
                .map_err(std::io::Error::other)?
                .into(),
        };
        let (router, limiter_upkeep) = router::router(
            state,
            SignInLimit {
                per_minute: config.sign_in_per_minute,
                burst: config.sign_in_burst,
                trust_forwarded_for: config.trust_forwarded_for,
            },
        );
        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        Ok(Self {
            listener,
            router,
            limiter_upkeep,
            local_addr,
            metrics,
            leader,
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

    /// Serves until `shutdown` completes, then finishes the requests in flight. The leader election (and, while
    /// leading, the indexer) runs alongside and is stopped, releasing the leader lock, before this returns.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(addr = %self.local_addr, "marketplace listening");
        // The exporter keeps histogram samples until upkeep drains them into its summaries.
        let (metrics, limiter) = (self.metrics, self.limiter_upkeep);
        let upkeep = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                metrics.run_upkeep();
                if let Some(limiter) = &limiter {
                    limiter.run();
                }
            }
        });
        let stop = CancellationToken::new();
        let leader = tokio::spawn(self.leader.run(stop.clone()));
        // The peer's address reaches the handlers (and the rate limiter) as `ConnectInfo`.
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        stop.cancel();
        if let Err(err) = leader.await {
            tracing::error!(%err, "the leader tasks failed");
        }
        upkeep.abort();
        served
    }
}

/// A configured number of seconds as the database's integer type.
fn secs(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
