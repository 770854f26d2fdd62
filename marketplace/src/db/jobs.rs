//! The `jobs` view and the `job_events` timeline, as the chain indexer writes them (`db/chain.rs`) and the API
//! reads them.
//!
//! Amounts are stored as 24-digit zero-padded decimals so that text order is numeric order (`min_reward` filters
//! and sorts correctly in both dialects); [`Job`] carries them as plain decimal strings. Arrays and disputes are
//! JSON text columns: they are read whole with the job and never filtered on.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Database, on_pool};

/// Digits of a stored amount. Amounts fit uint72 (22 digits); two more leave room without changing the order.
pub(crate) const AMOUNT_DIGITS: usize = 24;

/// A job as the marketplace sees it: the fold of the market's events for it (the contract is the source of truth;
/// this view is rebuilt from its events only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Job {
    /// `0x` and 64 lowercase hex digits.
    pub job_id: String,
    /// Who posted and funded the job (`0x` and 40 lowercase hex digits).
    pub requester: String,
    /// The worker that claimed it; null while open.
    pub worker: Option<String>,
    /// open, claimed, submitted, auditing, verified, disputed, finalized, slashed, refunded or expired.
    pub state: String,
    /// The current state's deadline, Unix seconds; 0 if none.
    pub deadline: u64,
    /// keccak256 of the canonical spec JSON (`0x` and 64 hex digits).
    pub spec_hash: String,
    /// What the worker is paid on success (net of any token fee), USDT base units, decimal.
    pub reward: String,
    /// Paid per sampled interval attested, USDT base units, decimal.
    pub verifier_fee: String,
    /// Locked from the worker's stake on claim, USDT base units, decimal.
    pub worker_bond: String,
    /// Training steps `T`.
    pub total_steps: u32,
    /// Steps between checkpoints `k`.
    pub checkpoint_interval: u32,
    /// Intervals `T / k`.
    pub num_intervals: u32,
    /// Sampled intervals `s`.
    pub sample_count: u32,
    /// Last moment a worker may claim, Unix seconds.
    pub open_until: u64,
    /// Seconds a worker has from claim to submit.
    pub train_duration: u32,
    /// Merkle root of the trace; null until submitted.
    pub trace_root: Option<String>,
    /// sha256 of the adapter file; null until submitted.
    pub adapter_hash: Option<String>,
    /// The block whose hash seeds the audit; null until submitted.
    pub anchor_block: Option<u64>,
    /// The audit seed; null until the audit started.
    pub audit_seed: Option<String>,
    /// The sampled intervals, in audit order (empty until the audit started).
    pub audit_intervals: Vec<u64>,
    /// `verifiers[i]` audits `audit_intervals[i]` (replacements applied).
    pub verifiers: Vec<String>,
    /// The start state hashes the worker revealed, in audit order: the checkpoint blobs verifiers fetch.
    pub revealed_start_hashes: Vec<String>,
    /// Positions in the audit that are attested or upheld by a committee, ascending.
    pub attested_indexes: Vec<u64>,
    /// Every dispute, oldest first.
    pub disputes: Vec<Dispute>,
    /// The last dispute's outcome: worker_honest, worker_cheated or undecided; null if none was resolved.
    pub dispute_outcome: Option<String>,
    /// Block of the job's creation.
    pub created_block: u64,
    /// Log index of `JobCreated` in its block.
    pub created_log_index: u64,
    /// Transaction that created the job.
    pub created_tx: String,
    /// Block of the job's last event.
    pub updated_block: u64,
}

/// A dispute over one sampled interval and its committee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Dispute {
    /// The contested position in the audit.
    pub index: u64,
    /// Who opened it.
    pub challenger: String,
    /// The block whose hash draws the committee.
    pub anchor_block: u64,
    /// The committee; empty until drawn.
    pub committee: Vec<String>,
    /// Last moment to commit a vote, Unix seconds; null until drawn.
    pub commit_deadline: Option<u64>,
    /// Last moment to reveal a vote, Unix seconds; null until drawn.
    pub reveal_deadline: Option<u64>,
    /// Members that committed a vote.
    pub committed: Vec<String>,
    /// Revealed votes.
    pub votes: Vec<Vote>,
    /// worker_honest, worker_cheated or undecided; null while open.
    pub outcome: Option<String>,
    /// The majority state hash, once resolved.
    pub state_hash: Option<String>,
    /// The majority adapter hash, once resolved (zero unless the last interval was disputed).
    pub adapter_hash: Option<String>,
}

/// A committee member's revealed vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Vote {
    /// The member.
    pub member: String,
    /// The state hash it computed.
    pub state_hash: String,
    /// The adapter hash it computed (zero unless the last interval).
    pub adapter_hash: String,
}

/// One market event of a job: its timeline on the job page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobEventRecord {
    /// The block it was emitted in.
    pub block_number: u64,
    /// Its position in the block.
    pub log_index: u64,
    /// The block's hash.
    pub block_hash: String,
    /// The transaction that emitted it.
    pub tx_hash: String,
    /// The Solidity event's name: JobCreated, JobStateChanged, JobClaimed, ResultSubmitted, AuditStarted, ...
    pub kind: String,
    /// Its fields, snake_case; amounts as decimal strings.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// What `GET /v1/jobs` asks for. Filters are already validated and normalized.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// snake_case state.
    pub state: Option<String>,
    /// Lowercase address.
    pub requester: Option<String>,
    /// Lowercase address.
    pub worker: Option<String>,
    /// Lowercase address: only jobs whose audit assigns it (replacements applied).
    pub verifier: Option<String>,
    /// Decimal amount of at most 24 digits (`AMOUNT_DIGITS`).
    pub min_reward: Option<String>,
    /// Only jobs created before this `(created_block, created_log_index)` (the keyset cursor).
    pub before: Option<(u64, u64)>,
    /// At most this many.
    pub limit: u32,
}

/// Pads a decimal amount to [`AMOUNT_DIGITS`]; `None` if it is longer or not decimal.
pub(crate) fn pad_amount(decimal: &str) -> Option<String> {
    let digits = decimal.trim_start_matches('0');
    if digits.len() > AMOUNT_DIGITS || !decimal.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!("{digits:0>AMOUNT_DIGITS$}"))
}

/// A stored amount as a plain decimal.
fn unpad_amount(stored: &str) -> String {
    let digits = stored.trim_start_matches('0');
    if digits.is_empty() { "0" } else { digits }.to_string()
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

fn to_u32(value: i64) -> u32 {
    u32::try_from(value).unwrap_or_default()
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The columns of `jobs`, in [`JobRow`]'s order.
pub(crate) const JOB_COLUMNS: &str = "job_id, requester, worker, state, deadline, spec_hash, reward, verifier_fee, \
    worker_bond, total_steps, checkpoint_interval, num_intervals, sample_count, open_until, train_duration, \
    trace_root, adapter_hash, anchor_block, audit_seed, audit_intervals, verifiers, revealed_start_hashes, \
    attested_indexes, disputes, dispute_outcome, created_block, created_log_index, created_tx, updated_block";

/// Inserts or replaces a job row; binds [`JobRow`]'s fields in order.
pub(crate) const UPSERT_JOB: &str = "INSERT INTO jobs (job_id, requester, worker, state, deadline, spec_hash, \
    reward, verifier_fee, worker_bond, total_steps, checkpoint_interval, num_intervals, sample_count, open_until, \
    train_duration, trace_root, adapter_hash, anchor_block, audit_seed, audit_intervals, verifiers, \
    revealed_start_hashes, attested_indexes, disputes, dispute_outcome, created_block, created_log_index, \
    created_tx, updated_block) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
    $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29) ON CONFLICT (job_id) DO UPDATE SET \
    requester = excluded.requester, worker = excluded.worker, state = excluded.state, \
    deadline = excluded.deadline, spec_hash = excluded.spec_hash, reward = excluded.reward, \
    verifier_fee = excluded.verifier_fee, worker_bond = excluded.worker_bond, total_steps = excluded.total_steps, \
    checkpoint_interval = excluded.checkpoint_interval, num_intervals = excluded.num_intervals, \
    sample_count = excluded.sample_count, open_until = excluded.open_until, \
    train_duration = excluded.train_duration, trace_root = excluded.trace_root, \
    adapter_hash = excluded.adapter_hash, anchor_block = excluded.anchor_block, \
    audit_seed = excluded.audit_seed, audit_intervals = excluded.audit_intervals, \
    verifiers = excluded.verifiers, revealed_start_hashes = excluded.revealed_start_hashes, \
    attested_indexes = excluded.attested_indexes, disputes = excluded.disputes, \
    dispute_outcome = excluded.dispute_outcome, created_block = excluded.created_block, \
    created_log_index = excluded.created_log_index, created_tx = excluded.created_tx, \
    updated_block = excluded.updated_block";

/// Binds a [`JobRow`]'s fields to [`UPSERT_JOB`], in column order (a macro: the same text for both pools' query
/// types).
macro_rules! bind_job_row {
    ($query:expr, $row:expr) => {{
        let r = $row;
        $query
            .bind(&r.job_id)
            .bind(&r.requester)
            .bind(&r.worker)
            .bind(&r.state)
            .bind(r.deadline)
            .bind(&r.spec_hash)
            .bind(&r.reward)
            .bind(&r.verifier_fee)
            .bind(&r.worker_bond)
            .bind(r.total_steps)
            .bind(r.checkpoint_interval)
            .bind(r.num_intervals)
            .bind(r.sample_count)
            .bind(r.open_until)
            .bind(r.train_duration)
            .bind(&r.trace_root)
            .bind(&r.adapter_hash)
            .bind(r.anchor_block)
            .bind(&r.audit_seed)
            .bind(&r.audit_intervals)
            .bind(&r.verifiers)
            .bind(&r.revealed_start_hashes)
            .bind(&r.attested_indexes)
            .bind(&r.disputes)
            .bind(&r.dispute_outcome)
            .bind(r.created_block)
            .bind(r.created_log_index)
            .bind(&r.created_tx)
            .bind(r.updated_block)
    }};
}
pub(crate) use bind_job_row;

/// A `jobs` row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct JobRow {
    pub(crate) job_id: String,
    pub(crate) requester: String,
    pub(crate) worker: Option<String>,
    pub(crate) state: String,
    pub(crate) deadline: i64,
    pub(crate) spec_hash: String,
    pub(crate) reward: String,
    pub(crate) verifier_fee: String,
    pub(crate) worker_bond: String,
    pub(crate) total_steps: i64,
    pub(crate) checkpoint_interval: i64,
    pub(crate) num_intervals: i64,
    pub(crate) sample_count: i64,
    pub(crate) open_until: i64,
    pub(crate) train_duration: i64,
    pub(crate) trace_root: Option<String>,
    pub(crate) adapter_hash: Option<String>,
    pub(crate) anchor_block: Option<i64>,
    pub(crate) audit_seed: Option<String>,
    pub(crate) audit_intervals: String,
    pub(crate) verifiers: String,
    pub(crate) revealed_start_hashes: String,
    pub(crate) attested_indexes: String,
    pub(crate) disputes: String,
    pub(crate) dispute_outcome: Option<String>,
    pub(crate) created_block: i64,
    pub(crate) created_log_index: i64,
    pub(crate) created_tx: String,
    pub(crate) updated_block: i64,
}

/// Why a stored job or event could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    /// A JSON column does not hold what the indexer writes there.
    #[error("job {job_id}: column {column} is not valid: {source}")]
    Json {
        /// The job.
        job_id: String,
        /// The column.
        column: &'static str,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// An amount does not fit the stored width.
    #[error("job {job_id}: amount {amount} has more than {AMOUNT_DIGITS} digits")]
    Amount {
        /// The job.
        job_id: String,
        /// The amount.
        amount: String,
    },
}

fn parse_json<T: for<'de> Deserialize<'de>>(
    job_id: &str,
    column: &'static str,
    text: &str,
) -> Result<T, RowError> {
    serde_json::from_str(text).map_err(|source| RowError::Json {
        job_id: job_id.to_string(),
        column,
        source,
    })
}

fn to_json(value: &impl Serialize) -> String {
    // Vectors of strings, numbers and plain structs always serialize.
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_string())
}

impl JobRow {
    /// The job this row stores.
    pub(crate) fn into_job(self) -> Result<Job, RowError> {
        let id = self.job_id.as_str();
        Ok(Job {
            audit_intervals: parse_json(id, "audit_intervals", &self.audit_intervals)?,
            verifiers: parse_json(id, "verifiers", &self.verifiers)?,
            revealed_start_hashes: parse_json(
                id,
                "revealed_start_hashes",
                &self.revealed_start_hashes,
            )?,
            attested_indexes: parse_json(id, "attested_indexes", &self.attested_indexes)?,
            disputes: parse_json(id, "disputes", &self.disputes)?,
            requester: self.requester,
            worker: self.worker,
            state: self.state,
            deadline: to_u64(self.deadline),
            spec_hash: self.spec_hash,
            reward: unpad_amount(&self.reward),
            verifier_fee: unpad_amount(&self.verifier_fee),
            worker_bond: unpad_amount(&self.worker_bond),
            total_steps: to_u32(self.total_steps),
            checkpoint_interval: to_u32(self.checkpoint_interval),
            num_intervals: to_u32(self.num_intervals),
            sample_count: to_u32(self.sample_count),
            open_until: to_u64(self.open_until),
            train_duration: to_u32(self.train_duration),
            trace_root: self.trace_root,
            adapter_hash: self.adapter_hash,
            anchor_block: self.anchor_block.map(to_u64),
            audit_seed: self.audit_seed,
            dispute_outcome: self.dispute_outcome,
            created_block: to_u64(self.created_block),
            created_log_index: to_u64(self.created_log_index),
            created_tx: self.created_tx,
            updated_block: to_u64(self.updated_block),
            job_id: self.job_id,
        })
    }

    /// The row that stores `job`.
    pub(crate) fn from_job(job: &Job) -> Result<Self, RowError> {
        let amount = |value: &str| {
            pad_amount(value).ok_or_else(|| RowError::Amount {
                job_id: job.job_id.clone(),
                amount: value.to_string(),
            })
        };
        Ok(Self {
            job_id: job.job_id.clone(),
            requester: job.requester.clone(),
            worker: job.worker.clone(),
            state: job.state.clone(),
            deadline: to_i64(job.deadline),
            spec_hash: job.spec_hash.clone(),
            reward: amount(&job.reward)?,
            verifier_fee: amount(&job.verifier_fee)?,
            worker_bond: amount(&job.worker_bond)?,
            total_steps: i64::from(job.total_steps),
            checkpoint_interval: i64::from(job.checkpoint_interval),
            num_intervals: i64::from(job.num_intervals),
            sample_count: i64::from(job.sample_count),
            open_until: to_i64(job.open_until),
            train_duration: i64::from(job.train_duration),
            trace_root: job.trace_root.clone(),
            adapter_hash: job.adapter_hash.clone(),
            anchor_block: job.anchor_block.map(to_i64),
            audit_seed: job.audit_seed.clone(),
            audit_intervals: to_json(&job.audit_intervals),
            verifiers: to_json(&job.verifiers),
            revealed_start_hashes: to_json(&job.revealed_start_hashes),
            attested_indexes: to_json(&job.attested_indexes),
            disputes: to_json(&job.disputes),
            dispute_outcome: job.dispute_outcome.clone(),
            created_block: to_i64(job.created_block),
            created_log_index: to_i64(job.created_log_index),
            created_tx: job.created_tx.clone(),
            updated_block: to_i64(job.updated_block),
        })
    }
}

/// A `job_events` row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct JobEventRow {
    pub(crate) block_number: i64,
    pub(crate) log_index: i64,
    pub(crate) block_hash: String,
    pub(crate) tx_hash: String,
    pub(crate) job_id: String,
    pub(crate) kind: String,
    pub(crate) data: String,
}

impl JobEventRow {
    pub(crate) fn into_record(self) -> Result<JobEventRecord, RowError> {
        Ok(JobEventRecord {
            data: parse_json(&self.job_id, "data", &self.data)?,
            block_number: to_u64(self.block_number),
            log_index: to_u64(self.log_index),
            block_hash: self.block_hash,
            tx_hash: self.tx_hash,
            kind: self.kind,
        })
    }
}

/// Columns of `job_events`, in [`JobEventRow`]'s order.
pub(crate) const JOB_EVENT_COLUMNS: &str =
    "block_number, log_index, block_hash, tx_hash, job_id, kind, data";

/// A value bound to a dynamically built query.
enum Arg {
    Text(String),
    Int(i64),
}

/// Why a jobs query failed.
#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A stored row is not what the indexer writes.
    #[error(transparent)]
    Row(#[from] RowError),
}

impl Database {
    /// The job `job_id` (`0x` and 64 lowercase hex digits), if the indexer has seen it.
    pub async fn job(&self, job_id: &str) -> Result<Option<Job>, JobsError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = $1");
        let row = on_pool!(self, pool => sqlx::query_as::<_, JobRow>(&sql)
            .bind(job_id)
            .fetch_optional(pool)
            .await?);
        Ok(row.map(JobRow::into_job).transpose()?)
    }

    /// Jobs matching `filter`, newest first (by the position of their `JobCreated`), at most `filter.limit`.
    pub async fn jobs(&self, filter: &JobFilter) -> Result<Vec<Job>, JobsError> {
        // Only the filters given are in the SQL, so each combination gets a plan that uses its index (a generic
        // `($1 IS NULL OR state = $1)` plan would not).
        let mut sql = format!("SELECT {JOB_COLUMNS} FROM jobs");
        let mut args = Vec::new();
        let mut clauses = Vec::new();
        let mut push = |clause: &str, arg: Arg, args: &mut Vec<Arg>| {
            args.push(arg);
            clauses.push(clause.replace('?', &format!("${}", args.len())));
        };
        if let Some(state) = &filter.state {
            push("state = ?", Arg::Text(state.clone()), &mut args);
        }
        if let Some(requester) = &filter.requester {
            push("requester = ?", Arg::Text(requester.clone()), &mut args);
        }
        if let Some(worker) = &filter.worker {
            push("worker = ?", Arg::Text(worker.clone()), &mut args);
        }
        if let Some(verifier) = &filter.verifier {
            // `verifiers` is a JSON array of lowercase hex addresses, which hold no LIKE wildcards. This scans the
            // table: verifiers look up their own few jobs, not a hot path.
            push(
                "verifiers LIKE ?",
                Arg::Text(format!("%\"{verifier}\"%")),
                &mut args,
            );
        }
        if let Some(min) = filter.min_reward.as_deref().and_then(pad_amount) {
            push("reward >= ?", Arg::Text(min), &mut args);
        }
        if let Some((block, log_index)) = filter.before {
            args.push(Arg::Int(to_i64(block)));
            args.push(Arg::Int(to_i64(log_index)));
            clauses.push(format!(
                "(created_block, created_log_index) < (${}, ${})",
                args.len() - 1,
                args.len()
            ));
        }
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        args.push(Arg::Int(i64::from(filter.limit)));
        sql.push_str(&format!(
            " ORDER BY created_block DESC, created_log_index DESC LIMIT ${}",
            args.len()
        ));
        let rows = on_pool!(self, pool => {
            let mut query = sqlx::query_as::<_, JobRow>(&sql);
            for arg in &args {
                query = match arg {
                    Arg::Text(text) => query.bind(text.as_str()),
                    Arg::Int(int) => query.bind(*int),
                };
            }
            query.fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(JobRow::into_job)
            .collect::<Result<_, _>>()?)
    }

    /// Jobs the keeper looks at: those a deadline-driven call may move at chain time `now` (deadline passed), and
    /// every submitted job (whose audit may be due), soonest deadline first, at most `limit`.
    pub async fn jobs_due(&self, now: u64, limit: u32) -> Result<Vec<Job>, JobsError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state IN ('open', 'claimed', 'submitted', 'auditing', 'verified') \
             AND (state = 'submitted' OR (deadline > 0 AND deadline < $1)) ORDER BY deadline LIMIT $2"
        );
        let rows = on_pool!(self, pool => sqlx::query_as::<_, JobRow>(&sql)
            .bind(to_i64(now))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?);
        Ok(rows
            .into_iter()
            .map(JobRow::into_job)
            .collect::<Result<_, _>>()?)
    }

    /// The events of job `job_id`, in chain order.
    pub async fn job_events(&self, job_id: &str) -> Result<Vec<JobEventRecord>, JobsError> {
        let sql = format!(
            "SELECT {JOB_EVENT_COLUMNS} FROM job_events WHERE job_id = $1 \
             ORDER BY block_number, log_index"
        );
        let rows = on_pool!(self, pool => sqlx::query_as::<_, JobEventRow>(&sql)
            .bind(job_id)
            .fetch_all(pool)
            .await?);
        Ok(rows
            .into_iter()
            .map(JobEventRow::into_record)
            .collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_pad_to_sortable_text() {
        assert_eq!(pad_amount("0").unwrap(), "0".repeat(24));
        assert_eq!(
            pad_amount("00012").unwrap(),
            format!("{}12", "0".repeat(22))
        );
        assert!(pad_amount(&"9".repeat(25)).is_none());
        assert!(pad_amount("1e5").is_none());
        assert!(pad_amount("-1").is_none());
        assert!(pad_amount("99").unwrap() < pad_amount("100").unwrap());
        assert_eq!(unpad_amount(&pad_amount("0").unwrap()), "0");
        assert_eq!(unpad_amount(&pad_amount("1200").unwrap()), "1200");
    }
}
