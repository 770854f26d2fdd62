//! The settlement sender: the transactions the marketplace itself sends (DESIGN.md §5), such as the expiries and
//! audits nobody else triggered.
//!
//! Callers enqueue intents (a call under an idempotency key, [`Sender::enqueue`]); the sender signs them locally
//! with one key and sees each through to a receipt. It is built so that no intent is ever sent twice, across
//! crashes and restarts, and none blocks the others:
//!
//! - **Nonces live in the database.** An intent's nonce is reserved in the same database transaction that records
//!   its first signed transaction ([`Database::outbox_sign_first`]), and the counter never lags the chain's pending
//!   count. On start-up [`Sender::new`] reconciles the counter with the chain.
//! - **Record, then broadcast.** Every signed transaction (raw bytes and hash) is stored before it is broadcast.
//!   After a crash, an in-flight intent is found again by its hashes; one the node does not know is broadcast
//!   again byte for byte, never re-signed with a new nonce.
//! - **Bump, don't re-send.** A transaction not mined after [`SenderConfig::bump_after_blocks`] blocks or
//!   [`SenderConfig::bump_after_secs`] seconds is replaced with the same nonce and both fees raised by at least
//!   12.5% (capped by [`SenderConfig::max_fee_per_gas`]). Every hash sent for the nonce is kept; a receipt for
//!   any of them settles the intent.
//! - **Reverts fail the intent, not the queue.** An intent whose gas estimation reverts is marked failed with the
//!   decoded reason before any nonce is used; one that is mined and reverts used its nonce, so no gap is left.
//!   Either way the intents behind it go on.
//!
//! Counters (Prometheus): `tern_market_sender_sent_total`, `..._bumped_total`, `..._confirmed_total`,
//! `..._failed_total`, `..._superseded_total`.
//!
//! ```no_run
//! # async fn demo(db: tern_marketplace::db::Database, market: alloy::primitives::Address) -> Result<(), Box<dyn std::error::Error>> {
//! use tern_marketplace::chain::sender::{Intent, Sender, SenderConfig, SenderKey};
//!
//! let key = SenderKey::new("/etc/tern/sender.key");
//! let sender = Sender::connect(db, "http://127.0.0.1:8545", &key, SenderConfig::default()).await?;
//! let intent = Intent::expire_job(market, alloy::primitives::U256::from(7));
//! sender.enqueue(&intent.key, intent.to, &intent.calldata).await?; // a second time is a no-op
//! sender.run(std::future::pending()).await;
//! # Ok(())
//! # }
//! ```

mod fees;
mod key;

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::{TransactionBuilder, TxSignerSync};
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use alloy::transports::TransportError;
use serde::Deserialize;
use tern_contracts::ContractError;
use tern_contracts::bindings::TernMarket;

use crate::db::{Database, IntentState, NewOutboxTx, OutboxIntent, OutboxSignError, OutboxTx};
pub use fees::Fees;
pub use key::{SenderKey, SenderKeyError};

/// How the sender paces and prices its transactions (`[sender]` in the configuration file).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SenderConfig {
    /// The chain the node must be on; the sender refuses to start on another [default: any, the node's].
    pub chain_id: Option<u64>,
    /// Highest `maxFeePerGas` the sender ever signs, in wei [default: 500 gwei].
    pub max_fee_per_gas: u64,
    /// Replace a transaction not mined this many blocks after it was signed [default: 3].
    pub bump_after_blocks: u64,
    /// Replace a transaction not mined this many seconds after it was signed [default: 60].
    pub bump_after_secs: u64,
    /// Blocks a receipt must be under (1: mined) before its intent is settled [default: 1].
    pub confirmations: u64,
    /// Signed but unsettled intents at most; later ones wait [default: 16].
    pub max_in_flight: u32,
    /// Gas limit above the node's estimate, in percent [default: 20].
    pub gas_margin_percent: u64,
    /// Pause between two rounds of [`Sender::run`], in milliseconds [default: 2000].
    pub poll_interval_ms: u64,
}

impl Default for SenderConfig {
    fn default() -> Self {
        Self {
            chain_id: None,
            max_fee_per_gas: 500_000_000_000,
            bump_after_blocks: 3,
            bump_after_secs: 60,
            confirmations: 1,
            max_in_flight: 16,
            gas_margin_percent: 20,
            poll_interval_ms: 2000,
        }
    }
}

/// Why a sender call failed. Intents are never lost to these: the next round takes up where this one stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SenderError {
    /// The database failed.
    #[error("outbox database: {0}")]
    Db(#[from] sqlx::Error),
    /// The node could not be reached or answered with an error.
    #[error("rpc: {0}")]
    Rpc(#[from] TransportError),
    /// The RPC URL is not a URL.
    #[error("invalid rpc url {0:?}")]
    RpcUrl(String),
    /// The node is on another chain than configured.
    #[error("the node is on chain {node}, the configuration says {configured}")]
    ChainIdMismatch {
        /// `chain_id` from the configuration.
        configured: u64,
        /// The node's `eth_chainId`.
        node: u64,
    },
    /// The signing key could not be loaded.
    #[error(transparent)]
    Key(#[from] SenderKeyError),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(#[from] alloy::signers::Error),
    /// A value does not fit where it is stored (a fee or gas limit above `i64::MAX`).
    #[error("{0} is out of range")]
    OutOfRange(&'static str),
    /// A stored value could not be read back (an address or hash that does not parse).
    #[error("corrupt outbox row: {0}")]
    Corrupt(String),
}

/// A call for the sender to make, with its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// The idempotency key: the same key is sent at most once.
    pub key: String,
    /// The contract called.
    pub to: Address,
    /// The calldata.
    pub calldata: Bytes,
}

impl Intent {
    /// `expireJob(jobId)` on the market at `market`, key `expire:<jobId>`.
    pub fn expire_job(market: Address, job_id: U256) -> Self {
        Self {
            key: format!("expire:{job_id}"),
            to: market,
            calldata: TernMarket::expireJobCall { jobId: job_id }
                .abi_encode()
                .into(),
        }
    }
}

/// What one round ([`Sender::run_once`]) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Intents signed and broadcast for the first time.
    pub sent: u32,
    /// Replacements with higher fees.
    pub bumped: u32,
    /// Recorded transactions broadcast again because the node did not know them.
    pub rebroadcast: u32,
    /// Intents mined and successful.
    pub confirmed: u32,
    /// Intents that reverted, at estimation or on chain.
    pub failed: u32,
    /// Intents whose nonce another transaction used.
    pub superseded: u32,
    /// Intents still in flight after the round.
    pub in_flight: u32,
}

/// What the node said to a broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broadcast {
    /// Accepted into its pool.
    Accepted,
    /// It already had this transaction.
    Known,
    /// The nonce is used: one of the intent's transactions (or someone else's) was mined.
    NonceTooLow,
    /// A pending transaction with the nonce pays more than this one allows replacing.
    Underpriced,
    /// Refused for another reason (kept in flight and broadcast again later).
    Rejected(String),
}

/// The settlement sender: one signing key, its nonces and its outbox in the database.
#[derive(Debug)]
pub struct Sender {
    db: Database,
    provider: DynProvider,
    signer: PrivateKeySigner,
    /// The signer's address as stored, `0x` and lowercase hex.
    address: String,
    chain_id: u64,
    config: SenderConfig,
}

impl Sender {
    /// A sender signing with `signer` over `provider` (any provider: the sender signs locally and broadcasts
    /// raw transactions). Reads the node's chain id (checked against [`SenderConfig::chain_id`] when set) and
    /// reconciles the database's nonce counter with the chain.
    pub async fn new(
        db: Database,
        provider: DynProvider,
        signer: PrivateKeySigner,
        config: SenderConfig,
    ) -> Result<Self, SenderError> {
        i64::try_from(config.max_fee_per_gas)
            .map_err(|_| SenderError::OutOfRange("max_fee_per_gas"))?;
        let node = provider.get_chain_id().await?;
        if let Some(configured) = config.chain_id.filter(|&c| c != node) {
            return Err(SenderError::ChainIdMismatch { configured, node });
        }
        let sender = Self {
            db,
            provider,
            address: format!("{:#x}", signer.address()),
            signer,
            chain_id: node,
            config,
        };
        sender.reconcile().await?;
        Ok(sender)
    }

    /// A sender over the HTTP JSON-RPC endpoint `rpc_url`, signing with `key`.
    pub async fn connect(
        db: Database,
        rpc_url: &str,
        key: &SenderKey,
        config: SenderConfig,
    ) -> Result<Self, SenderError> {
        let url = rpc_url
            .parse()
            .map_err(|_| SenderError::RpcUrl(rpc_url.to_string()))?;
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(url)
            .erased();
        Self::new(db, provider, key.signer()?, config).await
    }

    /// The address the sender sends from.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The chain id it signs for.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The outbox's database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// Queues a call of `to` with `calldata` under `key`; true when it is new. Enqueueing a key that is already
    /// in the outbox, in any state, does nothing (see [`Database::enqueue_outbox`]).
    pub async fn enqueue(
        &self,
        key: &str,
        to: Address,
        calldata: &[u8],
    ) -> Result<bool, SenderError> {
        let new = self
            .db
            .enqueue_outbox(key, &format!("{to:#x}"), calldata)
            .await?;
        if new {
            tracing::debug!(key, %to, "settlement intent queued");
        }
        Ok(new)
    }

    /// Queues again the intent under `key` if it failed at gas estimation, before any transaction was signed
    /// (see [`Database::outbox_requeue_unsent`]); true when it did.
    pub async fn retry_unsent(&self, key: &str) -> Result<bool, SenderError> {
        Ok(self.db.outbox_requeue_unsent(key).await?)
    }

    /// Sets the nonce counter from the chain's pending count (see [`Database::outbox_reconcile_nonce`]).
    pub async fn reconcile(&self) -> Result<u64, SenderError> {
        let pending = self
            .provider
            .get_transaction_count(self.address())
            .pending()
            .await?;
        let next = self
            .db
            .outbox_reconcile_nonce(&self.address, self.chain_id, pending)
            .await?;
        tracing::info!(sender = %self.address, chain_id = self.chain_id, chain_pending = pending, next_nonce = next,
            "settlement sender nonce reconciled");
        Ok(u64::try_from(next).unwrap_or_default())
    }

    /// Runs rounds every [`SenderConfig::poll_interval_ms`] until `shutdown` completes. A round that fails is
    /// logged and the next one takes up where it stopped.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let mut ticker =
            tokio::time::interval(Duration::from_millis(self.config.poll_interval_ms.max(1)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = ticker.tick() => {}
            }
            if let Err(error) = self.run_once().await {
                tracing::warn!(%error, "settlement sender round failed");
            }
        }
        tracing::info!("settlement sender stopped");
    }

    /// One round: settles or bumps every in-flight intent, then signs and broadcasts queued ones while fewer than
    /// [`SenderConfig::max_in_flight`] are in flight.
    pub async fn run_once(&self) -> Result<Round, SenderError> {
        let mut round = Round::default();
        let mut in_flight = self.watch(&mut round).await?;
        while in_flight < self.config.max_in_flight {
            let Some(tx) = self.sign_next(&mut round).await? else {
                break;
            };
            in_flight += 1;
            self.broadcast(&tx).await?;
            round.sent += 1;
            metrics::counter!("tern_market_sender_sent_total").increment(1);
        }
        round.in_flight = in_flight;
        Ok(round)
    }

    /// Signs the oldest queued intent and records it with its nonce, without broadcasting it; `None` when nothing
    /// is queued. Queued intents whose gas estimation reverts are marked failed on the way (counted in `round`).
    ///
    /// [`Sender::run_once`] broadcasts what this returns at once; a process that stops in between leaves a
    /// recorded transaction that the next round broadcasts.
    pub async fn sign_next(&self, round: &mut Round) -> Result<Option<OutboxTx>, SenderError> {
        loop {
            let Some(intent) = self.db.outbox_queued(1).await?.pop() else {
                return Ok(None);
            };
            let to = parse_address(&intent.to)?;
            let request = TransactionRequest::default()
                .with_from(self.address())
                .with_to(to)
                .with_input(intent.calldata.clone());
            let estimate = match self.provider.estimate_gas(request).await {
                Ok(gas) => gas,
                Err(error) => match revert_of(&error) {
                    Some(reason) => {
                        if self.db.outbox_fail_queued(intent.id, &reason).await? {
                            tracing::warn!(key = intent.key, %reason, "settlement intent would revert; not sent");
                            metrics::counter!("tern_market_sender_failed_total").increment(1);
                            round.failed += 1;
                        }
                        continue;
                    }
                    None => return Err(error.into()),
                },
            };
            let gas_limit = estimate.saturating_mul(100 + self.config.gas_margin_percent) / 100;
            let suggested = self.provider.estimate_eip1559_fees().await?;
            let fees = fees::initial(
                Fees {
                    max_fee_per_gas: suggested.max_fee_per_gas,
                    max_priority_fee_per_gas: suggested.max_priority_fee_per_gas,
                },
                u128::from(self.config.max_fee_per_gas),
            );
            let chain_nonce = self
                .provider
                .get_transaction_count(self.address())
                .pending()
                .await?;
            let block = self.provider.get_block_number().await?;
            let recorded = self
                .db
                .outbox_sign_first(
                    intent.id,
                    &self.address,
                    self.chain_id,
                    chain_nonce,
                    |nonce| self.sign(nonce, to, &intent.calldata, gas_limit, fees, block),
                )
                .await;
            match recorded {
                Ok(Some(tx)) => {
                    tracing::info!(
                        key = intent.key,
                        nonce = tx.nonce,
                        tx_hash = tx.tx_hash,
                        gas_limit,
                        max_fee_per_gas = tx.max_fee_per_gas,
                        max_priority_fee_per_gas = tx.max_priority_fee_per_gas,
                        "settlement intent signed"
                    );
                    return Ok(Some(tx));
                }
                // Another sender took it between the read and the reservation.
                Ok(None) => continue,
                Err(OutboxSignError::Db(e)) => return Err(e.into()),
                Err(OutboxSignError::Sign(e)) => return Err(e),
            }
        }
    }

    /// Broadcasts a recorded transaction as it was signed.
    pub async fn broadcast(&self, tx: &OutboxTx) -> Result<Broadcast, SenderError> {
        let outcome = match self.provider.send_raw_transaction(&tx.raw).await {
            Ok(_) => Broadcast::Accepted,
            Err(error) => classify_broadcast_error(&error),
        };
        match &outcome {
            Broadcast::Accepted | Broadcast::Known => {
                tracing::debug!(
                    tx_hash = tx.tx_hash,
                    nonce = tx.nonce,
                    ?outcome,
                    "broadcast"
                );
            }
            Broadcast::NonceTooLow | Broadcast::Underpriced => {
                tracing::info!(
                    tx_hash = tx.tx_hash,
                    nonce = tx.nonce,
                    ?outcome,
                    "broadcast refused"
                );
            }
            Broadcast::Rejected(reason) => {
                tracing::warn!(tx_hash = tx.tx_hash, nonce = tx.nonce, %reason, "broadcast rejected; retrying later");
            }
        }
        Ok(outcome)
    }

    /// Settles, bumps or re-broadcasts each in-flight intent; returns how many are still in flight.
    async fn watch(&self, round: &mut Round) -> Result<u32, SenderError> {
        let in_flight = self.db.outbox_in_flight(&self.address).await?;
        if in_flight.is_empty() {
            return Ok(0);
        }
        // Read before the receipts: a nonce below this count whose hashes have no receipt was used by someone
        // else (a receipt that appears in between is found below).
        let chain_nonce = self
            .provider
            .get_transaction_count(self.address())
            .latest()
            .await?;
        let block = self.provider.get_block_number().await?;
        let mut suggested = None;
        let mut still = 0;
        for intent in &in_flight {
            let txs = self.db.outbox_txs(intent.id).await?;
            let Some(last) = txs.last() else {
                return Err(SenderError::Corrupt(format!(
                    "intent {} is sent without a transaction",
                    intent.key
                )));
            };
            if let Some(receipt) = self.receipt_of(&txs).await? {
                let mined = receipt.block_number.unwrap_or(block);
                if mined.saturating_add(self.config.confirmations.max(1)) <= block + 1 {
                    self.settle(intent, &receipt, round).await?;
                } else {
                    still += 1;
                }
                continue;
            }
            let nonce = u64::try_from(last.nonce).unwrap_or_default();
            if nonce < chain_nonce {
                let reason = format!(
                    "nonce {nonce} was used by a transaction that is none of this intent's {} (is the key used \
                     elsewhere?)",
                    txs.len()
                );
                if self
                    .db
                    .outbox_settle(
                        intent.id,
                        IntentState::Superseded,
                        None,
                        None,
                        Some(&reason),
                    )
                    .await?
                {
                    tracing::error!(
                        key = intent.key,
                        nonce,
                        "settlement intent superseded: {reason}"
                    );
                    metrics::counter!("tern_market_sender_superseded_total").increment(1);
                    round.superseded += 1;
                }
                continue;
            }
            still += 1;
            let signed_block = u64::try_from(last.signed_block).unwrap_or_default();
            let age = crate::db::unix_now().saturating_sub(last.created_at);
            let due = block >= signed_block.saturating_add(self.config.bump_after_blocks)
                || u64::try_from(age).unwrap_or_default() >= self.config.bump_after_secs;
            if due {
                let suggested = match suggested {
                    Some(s) => s,
                    None => {
                        let s = self.provider.estimate_eip1559_fees().await?;
                        let s = Fees {
                            max_fee_per_gas: s.max_fee_per_gas,
                            max_priority_fee_per_gas: s.max_priority_fee_per_gas,
                        };
                        *suggested.get_or_insert(s)
                    }
                };
                if self.bump(intent, last, suggested, block).await? {
                    round.bumped += 1;
                    continue;
                }
            }
            // Not due, or at the fee cap: make sure the node has the latest transaction (it may have been signed
            // just before a crash, or dropped from the node's pool).
            let hash = parse_hash(&last.tx_hash)?;
            if self.provider.get_transaction_by_hash(hash).await?.is_none() {
                self.broadcast(last).await?;
                round.rebroadcast += 1;
            }
        }
        Ok(still)
    }

    /// The receipt of whichever of `txs` was mined, if any.
    async fn receipt_of(
        &self,
        txs: &[OutboxTx],
    ) -> Result<Option<TransactionReceipt>, SenderError> {
        // Latest first: after a bump the replacement is the likely one.
        for tx in txs.iter().rev() {
            let hash = parse_hash(&tx.tx_hash)?;
            if let Some(receipt) = self.provider.get_transaction_receipt(hash).await? {
                return Ok(Some(receipt));
            }
        }
        Ok(None)
    }

    async fn settle(
        &self,
        intent: &OutboxIntent,
        receipt: &TransactionReceipt,
        round: &mut Round,
    ) -> Result<(), SenderError> {
        let hash = format!("{:#x}", receipt.transaction_hash);
        let block = receipt.block_number.and_then(|b| i64::try_from(b).ok());
        if receipt.status() {
            if self
                .db
                .outbox_settle(intent.id, IntentState::Confirmed, Some(&hash), block, None)
                .await?
            {
                tracing::info!(
                    key = intent.key,
                    tx_hash = hash,
                    block,
                    gas_used = receipt.gas_used,
                    "settlement intent confirmed"
                );
                metrics::counter!("tern_market_sender_confirmed_total").increment(1);
                round.confirmed += 1;
            }
        } else {
            let reason = self.replay_revert(intent, receipt).await;
            if self
                .db
                .outbox_settle(
                    intent.id,
                    IntentState::Failed,
                    Some(&hash),
                    block,
                    Some(&reason),
                )
                .await?
            {
                tracing::warn!(key = intent.key, tx_hash = hash, block, %reason, "settlement intent reverted on chain");
                metrics::counter!("tern_market_sender_failed_total").increment(1);
                round.failed += 1;
            }
        }
        Ok(())
    }

    /// Why a mined transaction reverted: the call replayed on the state after its block (a revert leaves no state
    /// behind, so that is the state it met, give or take the block's later transactions).
    async fn replay_revert(&self, intent: &OutboxIntent, receipt: &TransactionReceipt) -> String {
        let Ok(to) = parse_address(&intent.to) else {
            return "reverted on chain".to_string();
        };
        let request = TransactionRequest::default()
            .with_from(self.address())
            .with_to(to)
            .with_input(intent.calldata.clone())
            .with_gas_limit(receipt.gas_used.max(1_000_000));
        let mut call = self.provider.call(request);
        if let Some(block) = receipt.block_number {
            call = call.number(block);
        }
        match call.await {
            Ok(_) => "reverted on chain (replaying the call succeeded; reason unknown)".to_string(),
            Err(error) => revert_of(&error)
                .unwrap_or_else(|| format!("reverted on chain (replay failed: {error})")),
        }
    }

    /// Replaces the pending transaction `last` of `intent` with one paying higher fees, same nonce; false when
    /// the fee cap leaves no room.
    async fn bump(
        &self,
        intent: &OutboxIntent,
        last: &OutboxTx,
        suggested: Fees,
        block: u64,
    ) -> Result<bool, SenderError> {
        let old = Fees {
            max_fee_per_gas: u128::try_from(last.max_fee_per_gas).unwrap_or_default(),
            max_priority_fee_per_gas: u128::try_from(last.max_priority_fee_per_gas)
                .unwrap_or_default(),
        };
        let Some(fees) = fees::replacement(old, suggested, u128::from(self.config.max_fee_per_gas))
        else {
            tracing::warn!(
                key = intent.key,
                nonce = last.nonce,
                max_fee_per_gas = last.max_fee_per_gas,
                cap = self.config.max_fee_per_gas,
                "settlement transaction pending at the fee cap; not bumped"
            );
            return Ok(false);
        };
        let nonce = u64::try_from(last.nonce).unwrap_or_default();
        let to = parse_address(&intent.to)?;
        let gas_limit = u64::try_from(last.gas_limit).unwrap_or_default();
        let new = self.sign(nonce, to, &intent.calldata, gas_limit, fees, block)?;
        let tx = self
            .db
            .outbox_add_tx(intent.id, last.nonce, last.attempt + 1, new)
            .await?;
        tracing::info!(
            key = intent.key,
            nonce,
            attempt = tx.attempt,
            tx_hash = tx.tx_hash,
            max_fee_per_gas = tx.max_fee_per_gas,
            max_priority_fee_per_gas = tx.max_priority_fee_per_gas,
            "settlement transaction bumped"
        );
        metrics::counter!("tern_market_sender_bumped_total").increment(1);
        self.broadcast(&tx).await?;
        Ok(true)
    }

    /// Signs an EIP-1559 call; nothing is recorded or sent.
    fn sign(
        &self,
        nonce: u64,
        to: Address,
        calldata: &[u8],
        gas_limit: u64,
        fees: Fees,
        block: u64,
    ) -> Result<NewOutboxTx, SenderError> {
        let mut tx = TxEip1559 {
            chain_id: self.chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: fees.max_fee_per_gas,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
            to: TxKind::Call(to),
            value: U256::ZERO,
            access_list: Default::default(),
            input: Bytes::copy_from_slice(calldata),
        };
        let signature = self.signer.sign_transaction_sync(&mut tx)?;
        let signed = tx.into_signed(signature);
        let tx_hash = format!("{:#x}", signed.hash());
        let raw = TxEnvelope::from(signed).encoded_2718();
        let stored = |v: u128, what| i64::try_from(v).map_err(|_| SenderError::OutOfRange(what));
        Ok(NewOutboxTx {
            tx_hash,
            gas_limit: i64::try_from(gas_limit)
                .map_err(|_| SenderError::OutOfRange("gas limit"))?,
            max_fee_per_gas: stored(fees.max_fee_per_gas, "max fee per gas")?,
            max_priority_fee_per_gas: stored(fees.max_priority_fee_per_gas, "priority fee")?,
            raw,
            signed_block: i64::try_from(block).map_err(|_| SenderError::OutOfRange("block"))?,
        })
    }
}

fn parse_address(text: &str) -> Result<Address, SenderError> {
    Address::from_str(text).map_err(|_| SenderError::Corrupt(format!("address {text:?}")))
}

fn parse_hash(text: &str) -> Result<B256, SenderError> {
    B256::from_str(text).map_err(|_| SenderError::Corrupt(format!("transaction hash {text:?}")))
}

/// The decoded reason when `error` is the node refusing a call because it reverts; `None` for any other error
/// (the node unreachable, the account short of gas money...), which is worth trying again.
fn revert_of(error: &TransportError) -> Option<String> {
    let payload = error.as_error_resp()?;
    if let Some(data) = payload.as_revert_data() {
        return Some(ContractError::from_revert_data(data).to_string());
    }
    payload
        .message
        .to_ascii_lowercase()
        .contains("revert")
        .then(|| format!("reverted: {}", payload.message))
}

/// Sorts a node's refusal of `eth_sendRawTransaction` by its message (geth, anvil, reth and erigon word them
/// alike).
fn classify_broadcast_error(error: &TransportError) -> Broadcast {
    let Some(payload) = error.as_error_resp() else {
        return Broadcast::Rejected(error.to_string());
    };
    let message = payload.message.to_ascii_lowercase();
    if message.contains("already known")
        || message.contains("already imported")
        || message.contains("known transaction")
        || message.contains("already exists")
    {
        Broadcast::Known
    } else if message.contains("nonce too low") || message.contains("nonce has already been used") {
        Broadcast::NonceTooLow
    } else if message.contains("underpriced") {
        Broadcast::Underpriced
    } else {
        Broadcast::Rejected(payload.message.to_string())
    }
}
