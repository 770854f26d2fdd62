//! The chain indexer: follows the market's logs to `head - confirmations` and keeps the jobs view in step.
//!
//! Each step ([`Indexer::sync_once`]) either applies the next batch of blocks (at most
//! [`IndexerConfig::max_block_range`], one `eth_getLogs`) in one database transaction with the cursor move, or
//! rolls back a reorg, or finds nothing to do. Because the events and the cursor commit together, a crash or a
//! restart resumes at the block after the cursor without missing or repeating an event.
//!
//! Reorgs: the indexer remembers the hashes of the blocks it processed (each batch's last block and every block
//! with events, the last [`IndexerConfig::keep_blocks`] blocks' worth). Before a batch it checks that the next
//! block's parent is the cursor block (and, when idle, that the cursor block is still on the chain). When not, it
//! looks for the newest remembered block still on the chain, the common ancestor, deletes the events after it and
//! refolds the jobs they touched (the view is a fold over the events, so rollback is delete + refold). A reorg
//! deeper than every remembered block indexes everything again from the start block.

use std::time::Duration;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::transports::TransportError;
use alloy::transports::http::reqwest::Url;
use tokio_util::sync::CancellationToken;

use super::events::{self, DecodeError, IndexedEvent, address_hex, word_hex};
use crate::db::{Batch, ChainCursor, ChainDbError, Database};

/// How the indexer follows the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexerConfig {
    /// The chain's JSON-RPC endpoint (HTTP).
    pub rpc_url: String,
    /// The market contract.
    pub market: Address,
    /// The market's deployment block: the first block searched.
    pub start_block: u64,
    /// Blocks that must be mined on top of a block before its events are applied.
    pub confirmations: u64,
    /// How long to wait when caught up (or after an error) before looking again.
    pub poll_interval: Duration,
    /// Most blocks one `eth_getLogs` covers.
    pub max_block_range: u64,
    /// Block hashes are remembered this many blocks back for finding a reorg's common ancestor.
    pub keep_blocks: u64,
}

impl IndexerConfig {
    /// The defaults for `market` at `rpc_url`: from block 0, 2 confirmations, a poll every 2 s, 1000 blocks per
    /// `eth_getLogs`, hashes kept 1024 blocks back.
    pub fn new(rpc_url: impl Into<String>, market: Address) -> Self {
        Self {
            rpc_url: rpc_url.into(),
            market,
            start_block: 0,
            confirmations: 2,
            poll_interval: Duration::from_secs(2),
            max_block_range: 1000,
            keep_blocks: 1024,
        }
    }
}

/// Why an indexer step failed. The run loop logs it and tries again after the poll interval.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexerError {
    /// The RPC URL does not parse.
    #[error("invalid rpc_url {url:?}: {reason}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The node failed or could not be reached.
    #[error("rpc: {0}")]
    Rpc(#[from] TransportError),
    /// A block the node reported is not there.
    #[error("the node has no block {0}")]
    MissingBlock(u64),
    /// A log does not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The database failed (or another indexer moved the cursor).
    #[error(transparent)]
    Database(#[from] ChainDbError),
    /// The database holds the index of another market.
    #[error(
        "the database indexes market {indexed}, not the configured {configured}; use a database of its own for \
         each market"
    )]
    OtherMarket {
        /// The market in the database.
        indexed: String,
        /// The configured market.
        configured: String,
    },
}

impl From<sqlx::Error> for IndexerError {
    fn from(err: sqlx::Error) -> Self {
        Self::Database(ChainDbError::Database(err))
    }
}

/// What one [`Indexer::sync_once`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncStep {
    /// Applied the blocks up to `to` with `events` events.
    Advanced {
        /// The new cursor block.
        to: u64,
        /// Events applied.
        events: usize,
    },
    /// Rolled back to `to` (`None`: to before the start block) after a reorg, deleting `events` events.
    RolledBack {
        /// The common ancestor, the new cursor.
        to: Option<u64>,
        /// Events deleted.
        events: u64,
    },
    /// Nothing confirmed beyond the cursor (`None`: nothing indexed yet).
    Idle {
        /// The cursor block.
        cursor: Option<u64>,
    },
    /// The chain changed while the batch was read; nothing was written, the next step reads it again.
    Retry,
}

/// The chain indexer of one market into one database.
#[derive(Debug, Clone)]
pub struct Indexer {
    db: Database,
    provider: DynProvider,
    config: IndexerConfig,
    market: String,
}

/// A block's hash and its parent's.
struct BlockRef {
    hash: B256,
    parent: B256,
}

impl Indexer {
    /// An indexer of `config.market` into `db`. Nothing is contacted yet.
    pub fn new(db: Database, config: IndexerConfig) -> Result<Self, IndexerError> {
        let url = config
            .rpc_url
            .parse::<Url>()
            .map_err(|e| IndexerError::InvalidUrl {
                url: config.rpc_url.clone(),
                reason: e.to_string(),
            })?;
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(url)
            .erased();
        Ok(Self {
            db,
            provider,
            market: address_hex(config.market),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &IndexerConfig {
        &self.config
    }

    /// Runs until `stop` is cancelled: steps while there is work, then polls every `poll_interval`. Errors are
    /// logged and retried after the poll interval. Returns promptly on `stop`, even in the middle of a step.
    pub async fn run(&self, stop: CancellationToken) {
        tracing::info!(market = %self.market, rpc = %self.config.rpc_url, "indexer started");
        loop {
            // A step dropped midway (shutdown, or leadership lost during a slow RPC call) writes nothing: its
            // transaction, if open, rolls back.
            let step = tokio::select! {
                () = stop.cancelled() => break,
                step = self.sync_once() => step,
            };
            let wait = match step {
                Ok(SyncStep::Advanced { .. } | SyncStep::RolledBack { .. } | SyncStep::Retry) => {
                    None
                }
                Ok(SyncStep::Idle { .. }) => Some(self.config.poll_interval),
                Err(err) => {
                    metrics::counter!("tern_market_indexer_errors_total").increment(1);
                    tracing::warn!(error = %err, "indexer step failed; retrying");
                    Some(self.config.poll_interval)
                }
            };
            if stop.is_cancelled() {
                break;
            }
            if let Some(wait) = wait {
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
        tracing::info!("indexer stopped");
    }

    /// Steps until caught up with `head - confirmations`; returns the cursor block.
    pub async fn sync_to_head(&self) -> Result<Option<u64>, IndexerError> {
        loop {
            if let SyncStep::Idle { cursor } = self.sync_once().await? {
                return Ok(cursor);
            }
        }
    }

    /// One step: a batch applied, a reorg rolled back, or nothing to do.
    pub async fn sync_once(&self) -> Result<SyncStep, IndexerError> {
        let cursor = self.db.chain_cursor().await?;
        if let Some(c) = &cursor
            && c.market != self.market
        {
            return Err(IndexerError::OtherMarket {
                indexed: c.market.clone(),
                configured: self.market.clone(),
            });
        }
        let head = self.provider.get_block_number().await?;
        if let Some(c) = &cursor
            && head < c.block_number
        {
            // The chain is shorter than what was applied: the cursor block is gone.
            return self.roll_back(c, head).await;
        }
        let next = cursor
            .as_ref()
            .map_or(self.config.start_block, |c| c.block_number + 1);
        let safe = head.checked_sub(self.config.confirmations);
        let Some(safe) = safe.filter(|&safe| safe >= next) else {
            // Nothing new is confirmed; still check that the cursor block is on the chain.
            if let Some(c) = &cursor {
                let on_chain = self.block(c.block_number).await?.map(|b| word_hex(b.hash));
                if on_chain.as_deref() != Some(c.block_hash.as_str()) {
                    return self.roll_back(c, head).await;
                }
            }
            return Ok(SyncStep::Idle {
                cursor: cursor.map(|c| c.block_number),
            });
        };
        let to = safe.min(next.saturating_add(self.config.max_block_range.max(1) - 1));

        // The last block's hash before and after reading the logs: equal means the segment up to it did not change
        // while it was read (a block's hash commits to all its ancestors).
        let last = self
            .block(to)
            .await?
            .ok_or(IndexerError::MissingBlock(to))?;
        if let Some(c) = &cursor {
            let first = self
                .block(next)
                .await?
                .ok_or(IndexerError::MissingBlock(next))?;
            if word_hex(first.parent) != c.block_hash {
                return self.roll_back(c, head).await;
            }
        }
        let filter = Filter::new()
            .address(self.config.market)
            .from_block(next)
            .to_block(to);
        let logs = self.provider.get_logs(&filter).await?;
        let again = self.block(to).await?.map(|b| b.hash);
        if again != Some(last.hash) {
            tracing::debug!(
                block = to,
                "the chain changed while the batch was read; reading it again"
            );
            return Ok(SyncStep::Retry);
        }
        let mut decoded: Vec<IndexedEvent> = Vec::with_capacity(logs.len());
        for log in &logs {
            if log.removed {
                continue;
            }
            match events::decode(log)? {
                Some(event) => decoded.push(event),
                None => {
                    tracing::debug!(topic = ?log.topic0(), "skipping an event the indexer does not keep")
                }
            }
        }
        decoded.sort_by_key(|e| (e.position.block_number, e.position.log_index));
        if decoded
            .iter()
            .any(|e| e.position.block_number == to && e.position.block_hash != last.hash)
        {
            return Ok(SyncStep::Retry);
        }
        let mut blocks: Vec<(u64, String)> = decoded
            .iter()
            .map(|e| (e.position.block_number, word_hex(e.position.block_hash)))
            .collect();
        blocks.push((to, word_hex(last.hash)));
        blocks.dedup();
        let batch = Batch {
            market: &self.market,
            expected: cursor.as_ref(),
            to: (to, word_hex(last.hash)),
            blocks,
            events: &decoded,
            keep_blocks: self.config.keep_blocks,
        };
        let jobs = self.db.apply_batch(&batch).await?;
        metrics::gauge!("tern_market_indexer_last_block").set(to as f64);
        metrics::gauge!("tern_market_indexer_head_block").set(head as f64);
        metrics::counter!("tern_market_indexer_events_total").increment(decoded.len() as u64);
        if decoded.is_empty() {
            tracing::trace!(from = next, to, "no events");
        } else {
            tracing::info!(
                from = next,
                to,
                events = decoded.len(),
                jobs,
                "applied market events"
            );
        }
        Ok(SyncStep::Advanced {
            to,
            events: decoded.len(),
        })
    }

    /// Rolls back to the newest remembered block still on the chain.
    async fn roll_back(&self, cursor: &ChainCursor, head: u64) -> Result<SyncStep, IndexerError> {
        let mut ancestor = None;
        for (number, hash) in self.db.recent_blocks().await? {
            if number > head {
                continue;
            }
            let on_chain = self.block(number).await?.map(|b| word_hex(b.hash));
            if on_chain.as_deref() == Some(hash.as_str()) {
                ancestor = Some((number, hash));
                break;
            }
        }
        if ancestor.is_none() {
            tracing::warn!(
                cursor = cursor.block_number,
                "reorg deeper than every remembered block: indexing again from the start block"
            );
        }
        let to = ancestor.as_ref().map(|(n, _)| *n);
        let removed = self.db.roll_back(&self.market, cursor, ancestor).await?;
        metrics::counter!("tern_market_indexer_reorgs_total").increment(1);
        if let Some(to) = to {
            metrics::gauge!("tern_market_indexer_last_block").set(to as f64);
        }
        tracing::warn!(
            from = cursor.block_number,
            to = ?to,
            events = removed.events,
            jobs = removed.jobs,
            "chain reorganized: rolled back to the common ancestor"
        );
        Ok(SyncStep::RolledBack {
            to,
            events: removed.events,
        })
    }

    async fn block(&self, number: u64) -> Result<Option<BlockRef>, IndexerError> {
        Ok(self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await?
            .map(|b| BlockRef {
                hash: b.header.hash,
                parent: b.header.parent_hash,
            }))
    }
}
