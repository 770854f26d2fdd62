//! The chain indexer's writes: each batch of events, the jobs they change and the cursor move in ONE
//! transaction, so a crash leaves either all of a batch or none of it; a rollback after a reorg deletes the
//! events past the common ancestor and refolds the jobs they touched, in one transaction too.
//!
//! Every write first moves the cursor from the value the indexer read to the new one (compare and set). If
//! another indexer moved it meanwhile (a replica that still believed it led), nothing is written
//! ([`ChainDbError::CursorMoved`]): an event is never applied twice, whoever runs.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::jobs::{
    JOB_COLUMNS, JOB_EVENT_COLUMNS, JobEventRow, JobRow, RowError, UPSERT_JOB, bind_job_row,
};
use super::{BeginWrite, Database, Job, on_pool};
use crate::chain::events::{IndexedEvent, JobEvent, MarketEvent, word_hex};
use crate::chain::fold::{self, At};

/// The last block whose events are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCursor {
    /// The market indexed (`0x` and 40 lowercase hex digits).
    pub market: String,
    /// The block's number.
    pub block_number: u64,
    /// The block's hash (`0x` and 64 lowercase hex digits).
    pub block_hash: String,
}

/// A staking or balance event of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountEventRecord {
    /// The account (`0x` and 40 lowercase hex digits).
    pub account: String,
    /// The block it was emitted in.
    pub block_number: u64,
    /// Its position in the block.
    pub log_index: u64,
    /// The transaction that emitted it.
    pub tx_hash: String,
    /// Staked, UnstakeRequested, UnstakeWithdrawn, StakeLocked, StakeUnlocked, StakeSlashed, VerifierPoolJoined,
    /// VerifierPoolLeft, Credited or Withdrawn.
    pub kind: String,
    /// The job of a Credited event.
    pub job_id: Option<String>,
    /// The amount moved (USDT base units, decimal), if the event has one.
    pub amount: Option<String>,
    /// All its fields, snake_case.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// Why the indexer's write failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainDbError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A stored row is not what the indexer writes.
    #[error(transparent)]
    Row(#[from] RowError),
    /// A stored event does not decode.
    #[error(
        "stored event {kind} at block {block_number} log {log_index} does not decode: {source}"
    )]
    Event {
        /// Its name.
        kind: String,
        /// Its block.
        block_number: u64,
        /// Its index.
        log_index: u64,
        /// Why.
        source: serde_json::Error,
    },
    /// The cursor is not where this indexer read it: another indexer wrote meanwhile. Nothing was written.
    #[error("the chain cursor moved under this indexer (another replica indexes this database)")]
    CursorMoved,
}

/// One batch of blocks for [`Database::apply_batch`].
#[derive(Debug)]
pub(crate) struct Batch<'a> {
    /// The market indexed.
    pub(crate) market: &'a str,
    /// The cursor as the indexer read it (`None`: nothing indexed yet).
    pub(crate) expected: Option<&'a ChainCursor>,
    /// The batch's last block and its hash: the new cursor.
    pub(crate) to: (u64, String),
    /// Hashes to remember for reorg detection (the last block's and every block with events).
    pub(crate) blocks: Vec<(u64, String)>,
    /// The batch's events, in chain order.
    pub(crate) events: &'a [IndexedEvent],
    /// Remembered hashes older than `to - keep_blocks` are forgotten.
    pub(crate) keep_blocks: u64,
}

/// What a rollback removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RolledBack {
    /// Events deleted.
    pub(crate) events: u64,
    /// Jobs refolded (or deleted when their creation was rolled back).
    pub(crate) jobs: u64,
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

/// Moves the cursor from `$expected` to the new value; evaluates to the rows changed (1 when it was where expected).
macro_rules! move_cursor {
    ($tx:expr, $market:expr, $expected:expr, $new:expr) => {{
        let new: Option<(i64, &str)> = $new;
        let expected: Option<&ChainCursor> = $expected;
        match (expected, new) {
            (Some(old), Some((number, hash))) => sqlx::query(
                "UPDATE chain_cursor SET block_number = $1, block_hash = $2 \
                     WHERE id = 1 AND market = $3 AND block_number = $4 AND block_hash = $5",
            )
            .bind(number)
            .bind(hash)
            .bind($market)
            .bind(to_i64(old.block_number))
            .bind(&old.block_hash)
            .execute($tx)
            .await?
            .rows_affected(),
            (Some(old), None) => sqlx::query(
                "DELETE FROM chain_cursor \
                     WHERE id = 1 AND market = $1 AND block_number = $2 AND block_hash = $3",
            )
            .bind($market)
            .bind(to_i64(old.block_number))
            .bind(&old.block_hash)
            .execute($tx)
            .await?
            .rows_affected(),
            (None, Some((number, hash))) => sqlx::query(
                "INSERT INTO chain_cursor (id, market, block_number, block_hash) \
                     VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
            )
            .bind($market)
            .bind(number)
            .bind(hash)
            .execute($tx)
            .await?
            .rows_affected(),
            (None, None) => 1,
        }
    }};
}

fn decode_stored(row: &JobEventRow) -> Result<JobEvent, ChainDbError> {
    let data = serde_json::from_str(&row.data).map_err(|source| ChainDbError::Event {
        kind: row.kind.clone(),
        block_number: to_u64(row.block_number),
        log_index: to_u64(row.log_index),
        source,
    })?;
    JobEvent::from_stored(&row.kind, data).map_err(|source| ChainDbError::Event {
        kind: row.kind.clone(),
        block_number: to_u64(row.block_number),
        log_index: to_u64(row.log_index),
        source,
    })
}

/// Folds `rows` (one job's events in chain order) from nothing.
fn refold(job_id: &str, rows: &[JobEventRow]) -> Result<Option<Job>, ChainDbError> {
    let mut job = None;
    for row in rows {
        let event = decode_stored(row)?;
        let at = At {
            block_number: to_u64(row.block_number),
            log_index: to_u64(row.log_index),
            tx_hash: &row.tx_hash,
        };
        job = fold::apply(job, job_id, at, &event);
    }
    Ok(job)
}

impl Database {
    /// Where the indexer is: the last block whose events are applied, if any.
    pub async fn chain_cursor(&self) -> Result<Option<ChainCursor>, sqlx::Error> {
        const SQL: &str = "SELECT market, block_number, block_hash FROM chain_cursor WHERE id = 1";
        let row: Option<(String, i64, String)> =
            on_pool!(self, pool => sqlx::query_as(SQL).fetch_optional(pool).await?);
        Ok(row.map(|(market, number, hash)| ChainCursor {
            market,
            block_number: to_u64(number),
            block_hash: hash,
        }))
    }

    /// The remembered block hashes, newest first.
    pub(crate) async fn recent_blocks(&self) -> Result<Vec<(u64, String)>, sqlx::Error> {
        const SQL: &str =
            "SELECT block_number, block_hash FROM chain_blocks ORDER BY block_number DESC";
        let rows: Vec<(i64, String)> =
            on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|(n, h)| (to_u64(n), h)).collect())
    }

    /// The position `(block_number, log_index)` of every applied event (job and account events), in chain order:
    /// for checks that each market log is applied exactly once.
    pub async fn applied_event_positions(&self) -> Result<Vec<(u64, u64)>, sqlx::Error> {
        const SQL: &str = "SELECT block_number, log_index FROM job_events \
                           UNION ALL SELECT block_number, log_index FROM account_events \
                           ORDER BY 1, 2";
        let rows: Vec<(i64, i64)> =
            on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(b, l)| (to_u64(b), to_u64(l)))
            .collect())
    }

    /// The staking and balance events of `account` (lowercase), in chain order.
    pub async fn account_events(
        &self,
        account: &str,
    ) -> Result<Vec<AccountEventRecord>, ChainDbError> {
        const SQL: &str = "SELECT account, block_number, log_index, tx_hash, kind, job_id, amount, data \
                           FROM account_events WHERE account = $1 ORDER BY block_number, log_index";
        type Row = (
            String,
            i64,
            i64,
            String,
            String,
            Option<String>,
            Option<String>,
            String,
        );
        let rows: Vec<Row> =
            on_pool!(self, pool => sqlx::query_as(SQL).bind(account).fetch_all(pool).await?);
        rows.into_iter()
            .map(
                |(account, block, log, tx_hash, kind, job_id, amount, data)| {
                    let data =
                        serde_json::from_str(&data).map_err(|source| ChainDbError::Event {
                            kind: kind.clone(),
                            block_number: to_u64(block),
                            log_index: to_u64(log),
                            source,
                        })?;
                    Ok(AccountEventRecord {
                        account,
                        block_number: to_u64(block),
                        log_index: to_u64(log),
                        tx_hash,
                        kind,
                        job_id,
                        amount,
                        data,
                    })
                },
            )
            .collect()
    }

    /// Applies one batch: stores its events, folds them into the jobs they belong to, remembers its block hashes
    /// and moves the cursor to its last block, all in one transaction. Returns the jobs changed.
    pub(crate) async fn apply_batch(&self, batch: &Batch<'_>) -> Result<usize, ChainDbError> {
        let new_cursor = Some((to_i64(batch.to.0), batch.to.1.as_str()));
        let select_job = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = $1");
        let forget_before = to_i64(batch.to.0.saturating_sub(batch.keep_blocks));
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // The cursor first: it takes the write lock, and a concurrent indexer's batch fails here.
            if move_cursor!(&mut *tx, batch.market, batch.expected, new_cursor) != 1 {
                return Err(ChainDbError::CursorMoved);
            }
            let mut jobs: HashMap<&str, Option<Job>> = HashMap::new();
            let mut changed: Vec<&str> = Vec::new();
            for indexed in batch.events {
                let p = &indexed.position;
                let block_hash = word_hex(p.block_hash);
                let tx_hash = word_hex(p.tx_hash);
                match &indexed.event {
                    MarketEvent::Job { job_id, event } => {
                        let (kind, data) = event.to_stored();
                        sqlx::query(
                            "INSERT INTO job_events \
                             (block_number, log_index, block_hash, tx_hash, job_id, kind, data) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        )
                        .bind(to_i64(p.block_number))
                        .bind(to_i64(p.log_index))
                        .bind(&block_hash)
                        .bind(&tx_hash)
                        .bind(job_id)
                        .bind(&kind)
                        .bind(data.to_string())
                        .execute(&mut *tx)
                        .await?;
                        let current = match jobs.remove(job_id.as_str()) {
                            Some(job) => job,
                            None => sqlx::query_as::<_, JobRow>(&select_job)
                                .bind(job_id)
                                .fetch_optional(&mut *tx)
                                .await?
                                .map(JobRow::into_job)
                                .transpose()?,
                        };
                        let at = At {
                            block_number: p.block_number,
                            log_index: p.log_index,
                            tx_hash: &tx_hash,
                        };
                        let next = fold::apply(current, job_id, at, event);
                        if next.is_none() {
                            tracing::debug!(%job_id, %kind, "event of a job created before the start block");
                        }
                        if !changed.contains(&job_id.as_str()) {
                            changed.push(job_id.as_str());
                        }
                        jobs.insert(job_id.as_str(), next);
                    }
                    MarketEvent::Account { account, event } => {
                        let (kind, data) = event.to_stored();
                        sqlx::query(
                            "INSERT INTO account_events (block_number, log_index, block_hash, tx_hash, \
                             account, kind, job_id, amount, data) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        )
                        .bind(to_i64(p.block_number))
                        .bind(to_i64(p.log_index))
                        .bind(&block_hash)
                        .bind(&tx_hash)
                        .bind(account)
                        .bind(&kind)
                        .bind(event.job_id())
                        .bind(event.amount())
                        .bind(data.to_string())
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
            let mut upserted = 0;
            for job_id in &changed {
                if let Some(Some(job)) = jobs.get(job_id) {
                    let row = JobRow::from_job(job)?;
                    bind_job_row!(sqlx::query(UPSERT_JOB), &row)
                        .execute(&mut *tx)
                        .await?;
                    upserted += 1;
                }
            }
            for (number, hash) in &batch.blocks {
                sqlx::query(
                    "INSERT INTO chain_blocks (block_number, block_hash) VALUES ($1, $2) \
                     ON CONFLICT (block_number) DO UPDATE SET block_hash = excluded.block_hash",
                )
                .bind(to_i64(*number))
                .bind(hash)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("DELETE FROM chain_blocks WHERE block_number < $1")
                .bind(forget_before)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(upserted)
        })
    }

    /// Rolls the view back to `ancestor` (`None`: to before the start block, everything is indexed again):
    /// deletes the events and remembered hashes after it, refolds the jobs those events touched (deleting those
    /// whose creation is gone), and moves the cursor from `expected` to it, in one transaction.
    pub(crate) async fn roll_back(
        &self,
        market: &str,
        expected: &ChainCursor,
        ancestor: Option<(u64, String)>,
    ) -> Result<RolledBack, ChainDbError> {
        let after = ancestor.as_ref().map_or(-1, |(n, _)| to_i64(*n));
        let new_cursor = ancestor.as_ref().map(|(n, h)| (to_i64(*n), h.as_str()));
        let select_events = format!(
            "SELECT {JOB_EVENT_COLUMNS} FROM job_events WHERE job_id = $1 ORDER BY block_number, log_index"
        );
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if move_cursor!(&mut *tx, market, Some(expected), new_cursor) != 1 {
                return Err(ChainDbError::CursorMoved);
            }
            let affected: Vec<(String,)> = sqlx::query_as(
                "SELECT DISTINCT job_id FROM job_events WHERE block_number > $1 ORDER BY job_id",
            )
            .bind(after)
            .fetch_all(&mut *tx)
            .await?;
            let mut events = 0;
            for table in ["job_events", "account_events"] {
                events += sqlx::query(&format!("DELETE FROM {table} WHERE block_number > $1"))
                    .bind(after)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            sqlx::query("DELETE FROM chain_blocks WHERE block_number > $1")
                .bind(after)
                .execute(&mut *tx)
                .await?;
            for (job_id,) in &affected {
                let rows = sqlx::query_as::<_, JobEventRow>(&select_events)
                    .bind(job_id)
                    .fetch_all(&mut *tx)
                    .await?;
                match refold(job_id, &rows)? {
                    Some(job) => {
                        let row = JobRow::from_job(&job)?;
                        bind_job_row!(sqlx::query(UPSERT_JOB), &row)
                            .execute(&mut *tx)
                            .await?;
                    }
                    None => {
                        sqlx::query("DELETE FROM jobs WHERE job_id = $1")
                            .bind(job_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
            tx.commit().await?;
            Ok(RolledBack {
                events,
                jobs: affected.len() as u64,
            })
        })
    }
}
