//! The keeper: finds jobs whose deadline passed with nobody moving them and hands the settlement sender the call
//! that moves them (DESIGN.md §3.4: every deadline has a transition anyone can call, so no job stays stuck because
//! one party stopped). Runs on the leader only, beside the sender.
//!
//! Which call, by state (the job as the indexer folded it, the time as the chain's latest block says):
//!
//! | state | when | call |
//! |---|---|---|
//! | open, claimed | deadline passed | `expireJob` (Claimed goes back to Open, the worker's bond to the requester) |
//! | submitted | the anchor block is [`AUDIT_GRACE_BLOCKS`] old and nobody started the audit | `startAudit` |
//! | submitted | deadline passed | `expireJob` |
//! | auditing | deadline passed, nothing revealed | `expireJob` (the worker is slashed) |
//! | auditing | deadline passed, revealed | `replaceVerifiers` (no-show verifiers slashed and replaced) |
//! | verified | challenge window over | `finalize` (the worker and the verifiers are paid) |
//!
//! Disputes (drawing a committee, resolving it) are left to their parties and to anyone; the keeper does not
//! call them yet. Each intent's key names the job and the deadline or anchor it acts on, so a job that moves on
//! and stalls again gets a new intent, and one already handled is never sent twice.

use std::time::Duration;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::sol_types::SolCall;
use tern_contracts::bindings::TernMarket;
use tern_contracts::{Audit, JobResult};
use tokio_util::sync::CancellationToken;

use crate::chain::sender::{Intent, Sender, SenderConfig, SenderKey};
use crate::db::{Database, Job};

/// Blocks the worker gets after its anchor block to start the audit itself (with `startAuditAndReveal`, one
/// transaction) before the keeper starts it; well inside the 256 blocks the anchor's hash stays readable.
pub const AUDIT_GRACE_BLOCKS: u64 = 32;

/// Jobs looked at per round.
const BATCH: u32 = 500;

/// Why a keeper round stopped.
#[derive(Debug, thiserror::Error)]
pub enum KeeperError {
    /// The database failed.
    #[error("keeper database: {0}")]
    Db(String),
    /// The chain node failed.
    #[error("keeper chain read: {0}")]
    Rpc(String),
    /// A stored job does not hold what its state promises.
    #[error("job {job_id}: {message}")]
    Corrupt {
        /// The job.
        job_id: String,
        /// What is missing.
        message: String,
    },
}

/// The call that moves `job` on, if one is due at chain time `now` and chain head `head`.
pub fn due_intent(
    job: &Job,
    market: Address,
    now: u64,
    head: u64,
) -> Result<Option<Intent>, KeeperError> {
    let expired = job.deadline != 0 && job.deadline < now;
    let id = job_u256(job)?;
    let intent = |key: String, calldata: Vec<u8>| Intent {
        key,
        to: market,
        calldata: Bytes::from(calldata),
    };
    let expire = || {
        intent(
            format!("expire:{}:{}:{}", job.job_id, job.state, job.deadline),
            TernMarket::expireJobCall { jobId: id }.abi_encode(),
        )
    };
    Ok(match job.state.as_str() {
        "open" | "claimed" if expired => Some(expire()),
        "submitted" if expired => Some(expire()),
        "submitted" => {
            let anchor = job
                .anchor_block
                .ok_or_else(|| corrupt(job, "submitted without an anchor block"))?;
            (head >= anchor.saturating_add(AUDIT_GRACE_BLOCKS))
                .then(|| -> Result<Intent, KeeperError> {
                    let result = JobResult {
                        trace_root: hash(job, job.trace_root.as_deref(), "trace root")?,
                        adapter_hash: hash(job, job.adapter_hash.as_deref(), "adapter hash")?,
                        anchor_block: anchor,
                    };
                    Ok(intent(
                        format!("start_audit:{}:{anchor}", job.job_id),
                        TernMarket::startAuditCall {
                            jobId: id,
                            result: (&result).into(),
                        }
                        .abi_encode(),
                    ))
                })
                .transpose()?
        }
        "auditing" if expired && job.revealed_start_hashes.is_empty() => Some(expire()),
        "auditing" if expired => Some(intent(
            format!("replace_verifiers:{}:{}", job.job_id, job.deadline),
            TernMarket::replaceVerifiersCall {
                jobId: id,
                audit: (&audit(job)?).into(),
            }
            .abi_encode(),
        )),
        "verified" if expired => Some(intent(
            format!("finalize:{}", job.job_id),
            TernMarket::finalizeCall {
                jobId: id,
                audit: (&audit(job)?).into(),
            }
            .abi_encode(),
        )),
        _ => None,
    })
}

fn corrupt(job: &Job, message: &str) -> KeeperError {
    KeeperError::Corrupt {
        job_id: job.job_id.clone(),
        message: message.to_string(),
    }
}

fn job_u256(job: &Job) -> Result<U256, KeeperError> {
    job.job_id
        .parse()
        .map_err(|_| corrupt(job, "the id is not a 256-bit number"))
}

fn hash(job: &Job, value: Option<&str>, what: &str) -> Result<B256, KeeperError> {
    value
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| corrupt(job, &format!("no {what}")))
}

/// The audit assignment the contract checks `replaceVerifiers` and `finalize` against.
fn audit(job: &Job) -> Result<Audit, KeeperError> {
    Ok(Audit {
        trace_root: hash(job, job.trace_root.as_deref(), "trace root")?,
        adapter_hash: hash(job, job.adapter_hash.as_deref(), "adapter hash")?,
        seed: hash(job, job.audit_seed.as_deref(), "audit seed")?,
        verifiers: job
            .verifiers
            .iter()
            .map(|v| {
                v.parse()
                    .map_err(|_| corrupt(job, "a verifier is not an address"))
            })
            .collect::<Result<_, _>>()?,
    })
}

/// Watches the jobs view and enqueues what is due.
#[derive(Debug, Clone)]
pub struct Keeper {
    db: Database,
    provider: DynProvider,
    market: Address,
}

impl Keeper {
    /// A keeper for the market at `market`, reading chain time from `provider`.
    pub fn new(db: Database, provider: DynProvider, market: Address) -> Self {
        Self {
            db,
            provider,
            market,
        }
    }

    /// Enqueues every call due now on `sender`; returns how many intents were new.
    pub async fn run_once(&self, sender: &Sender) -> Result<usize, KeeperError> {
        let latest = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(|e| KeeperError::Rpc(e.to_string()))?
            .ok_or_else(|| KeeperError::Rpc("the node has no latest block".into()))?;
        let (now, head) = (latest.header.timestamp, latest.header.number);
        let jobs = self
            .db
            .jobs_due(now, BATCH)
            .await
            .map_err(|e| KeeperError::Db(e.to_string()))?;
        let mut new = 0;
        for job in &jobs {
            let intent = match due_intent(job, self.market, now, head) {
                Ok(Some(intent)) => intent,
                Ok(None) => continue,
                Err(err) => {
                    tracing::error!(%err, "keeper skips a job");
                    continue;
                }
            };
            if sender
                .enqueue(&intent.key, intent.to, &intent.calldata)
                .await
                .map_err(|e| KeeperError::Db(e.to_string()))?
            {
                tracing::info!(key = %intent.key, "keeper enqueued a call");
                metrics::counter!("tern_market_keeper_intents_total").increment(1);
                new += 1;
            }
        }
        Ok(new)
    }
}

/// The leader's settlement loop: connects the sender to `rpc_url` with `key` (retrying until the node answers),
/// then alternates keeper and sender rounds every `config.poll_interval_ms` until `stop`.
pub async fn settle(
    keeper: Keeper,
    rpc_url: String,
    key: SenderKey,
    config: SenderConfig,
    stop: CancellationToken,
) {
    let interval = Duration::from_millis(config.poll_interval_ms);
    let sender = loop {
        match Sender::connect(keeper.db.clone(), &rpc_url, &key, config.clone()).await {
            Ok(sender) => break sender,
            Err(err) => {
                tracing::warn!(%err, "settlement sender cannot start yet; retrying");
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(interval.max(Duration::from_secs(1))) => {}
                }
            }
        }
    };
    tracing::info!(sender = %sender.address(), "settlement sender running");
    loop {
        if let Err(err) = keeper.run_once(&sender).await {
            tracing::warn!(%err, "keeper round failed");
        }
        if let Err(err) = sender.run_once().await {
            tracing::warn!(%err, "sender round failed");
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKET: Address = Address::repeat_byte(0x11);

    fn job(state: &str, deadline: u64) -> Job {
        Job {
            job_id: format!("0x{}", "ab".repeat(32)),
            requester: format!("0x{}", "01".repeat(20)),
            worker: Some(format!("0x{}", "02".repeat(20))),
            state: state.into(),
            deadline,
            spec_hash: format!("0x{}", "03".repeat(32)),
            reward: "1".into(),
            verifier_fee: "1".into(),
            worker_bond: "1".into(),
            total_steps: 60,
            checkpoint_interval: 10,
            num_intervals: 6,
            sample_count: 2,
            open_until: 0,
            train_duration: 10,
            trace_root: Some(format!("0x{}", "04".repeat(32))),
            adapter_hash: Some(format!("0x{}", "05".repeat(32))),
            anchor_block: Some(100),
            audit_seed: Some(format!("0x{}", "06".repeat(32))),
            audit_intervals: vec![1, 5],
            verifiers: vec![
                format!("0x{}", "07".repeat(20)),
                format!("0x{}", "08".repeat(20)),
            ],
            revealed_start_hashes: vec![format!("0x{}", "09".repeat(32)); 2],
            attested_indexes: Vec::new(),
            disputes: Vec::new(),
            dispute_outcome: None,
            created_block: 1,
            created_log_index: 0,
            created_tx: format!("0x{}", "0a".repeat(32)),
            updated_block: 1,
        }
    }

    fn call(job: &Job, now: u64, head: u64) -> Option<(String, [u8; 4])> {
        due_intent(job, MARKET, now, head)
            .unwrap()
            .map(|i| (i.key, i.calldata[..4].try_into().unwrap()))
    }

    #[test]
    fn nothing_is_due_before_a_deadline() {
        for state in [
            "open",
            "claimed",
            "auditing",
            "verified",
            "disputed",
            "finalized",
        ] {
            assert_eq!(call(&job(state, 1000), 999, 0), None, "{state}");
        }
        // Terminal and disputed jobs are never moved by the keeper.
        for state in ["disputed", "finalized", "slashed", "refunded", "expired"] {
            assert_eq!(call(&job(state, 1000), 2000, 0), None, "{state}");
        }
    }

    #[test]
    fn each_stalled_state_gets_its_call_under_a_key_naming_the_deadline() {
        let id = "0x".to_string() + &"ab".repeat(32);
        let expire = TernMarket::expireJobCall::SELECTOR;
        assert_eq!(
            call(&job("claimed", 1000), 1001, 0),
            Some((format!("expire:{id}:claimed:1000"), expire))
        );
        assert_eq!(
            call(&job("open", 1000), 1001, 0),
            Some((format!("expire:{id}:open:1000"), expire))
        );
        let mut unrevealed = job("auditing", 1000);
        unrevealed.revealed_start_hashes.clear();
        assert_eq!(call(&unrevealed, 1001, 0).unwrap().1, expire);
        assert_eq!(
            call(&job("auditing", 1000), 1001, 0),
            Some((
                format!("replace_verifiers:{id}:1000"),
                TernMarket::replaceVerifiersCall::SELECTOR
            ))
        );
        assert_eq!(
            call(&job("verified", 1000), 1001, 0),
            Some((format!("finalize:{id}"), TernMarket::finalizeCall::SELECTOR))
        );
    }

    #[test]
    fn a_submitted_job_gets_its_audit_started_after_the_grace_blocks() {
        let submitted = job("submitted", 5000);
        assert_eq!(call(&submitted, 1000, 100 + AUDIT_GRACE_BLOCKS - 1), None);
        let id = "0x".to_string() + &"ab".repeat(32);
        assert_eq!(
            call(&submitted, 1000, 100 + AUDIT_GRACE_BLOCKS),
            Some((
                format!("start_audit:{id}:100"),
                TernMarket::startAuditCall::SELECTOR
            ))
        );
        assert_eq!(
            call(&submitted, 5001, 0).unwrap().1,
            TernMarket::expireJobCall::SELECTOR
        );
    }

    #[test]
    fn the_audit_passed_back_is_the_one_the_events_gave() {
        let verified = job("verified", 1000);
        let intent = due_intent(&verified, MARKET, 1001, 0).unwrap().unwrap();
        let decoded = TernMarket::finalizeCall::abi_decode(&intent.calldata).unwrap();
        assert_eq!(decoded.audit.seed, B256::repeat_byte(0x06));
        assert_eq!(
            decoded.audit.verifiers,
            [Address::repeat_byte(0x07), Address::repeat_byte(0x08)]
        );
        let mut broken = verified;
        broken.audit_seed = None;
        assert!(matches!(
            due_intent(&broken, MARKET, 1001, 0),
            Err(KeeperError::Corrupt { .. })
        ));
    }
}
