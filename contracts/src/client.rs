//! [`Market`]: a typed client for the job market, one per wallet.
//!
//! Every transaction the requester, a worker, a verifier or anyone sends goes through a
//! method here and comes back as a [`Tx`]: the receipt, the gas it used, and a small typed
//! outcome read from the transaction's events (the new job id, the submitted result, the
//! audit assignment…). A revert comes back as [`ContractError::Market`] with the decoded
//! custom error. Gas is estimated before sending, so a call that would revert fails
//! without spending anything.
//!
//! The contract keeps the submitted result and the audit assignment only as a hash; the
//! calls that need them take a [`JobResult`] or an [`Audit`], which [`Market::result_of`]
//! and [`Market::audit_of`] rebuild from the job's events.

use alloy::contract::SolCallBuilder;
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, Log, TransactionReceipt};
use alloy::signers::Signer;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolEvent, SolValue};
use alloy::transports::http::reqwest::Url;

use crate::bindings::{IToken, TernMarket};
use crate::error::ContractError;
use crate::trace::TraceCommitment;
use crate::types::{
    Account, Audit, DisputeOutcome, Job, JobParams, JobResult, JobState, MarketConfig, Unbonding,
};

type MarketInstance = TernMarket::TernMarketInstance<DynProvider>;
type TokenInstance = IToken::ITokenInstance<DynProvider>;

/// The intrinsic cost of every transaction, included in a receipt's `gasUsed`.
pub const TX_BASE_GAS: u64 = 21_000;

/// A mined, successful transaction: its receipt and what it did.
#[derive(Debug, Clone)]
pub struct Tx<T = ()> {
    /// What the call produced, read from its events (`()` when there is nothing to report).
    pub outcome: T,
    /// The receipt.
    pub receipt: TransactionReceipt,
    /// The calldata's share of the intrinsic gas: 16 per non-zero byte, 4 per zero byte.
    pub calldata_gas: u64,
}

impl<T> Tx<T> {
    /// Gas the transaction used, as in the receipt (including the 21 000 intrinsic gas and calldata).
    pub fn gas_used(&self) -> u64 {
        self.receipt.gas_used
    }

    /// Gas spent executing the call: `gas_used - 21 000 - calldata_gas` (after refunds).
    pub fn execution_gas(&self) -> u64 {
        self.gas_used()
            .saturating_sub(TX_BASE_GAS)
            .saturating_sub(self.calldata_gas)
    }

    /// The transaction hash.
    pub fn hash(&self) -> B256 {
        self.receipt.transaction_hash
    }

    /// The block the transaction was mined in.
    pub fn block_number(&self) -> u64 {
        self.receipt.block_number.unwrap_or_default()
    }

    fn with<U>(self, outcome: U) -> Tx<U> {
        Tx {
            outcome,
            receipt: self.receipt,
            calldata_gas: self.calldata_gas,
        }
    }
}

/// What `startAudit` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditStart {
    /// The audit started with this assignment.
    Started(Audit),
    /// The anchor block aged out of `blockhash` range while the verifier pool was empty; the
    /// result now has a later anchor.
    Reanchored(JobResult),
    /// The anchor block aged out of `blockhash` range before anyone opened the audit: the
    /// worker failed it and lost its bond (the job is Slashed).
    WorkerSlashed,
}

/// A dispute committee, as drawn by `drawCommittee`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committee {
    /// The members, who commit and then reveal their votes.
    pub members: Vec<Address>,
    /// Last moment to commit (timestamp).
    pub commit_deadline: u64,
    /// Last moment to reveal (timestamp).
    pub reveal_deadline: u64,
}

/// An EIP-2612 permit signature for the market as spender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permit {
    /// The permit's deadline (timestamp).
    pub deadline: U256,
    /// Recovery id, 27 or 28.
    pub v: u8,
    /// Signature `r`.
    pub r: B256,
    /// Signature `s`.
    pub s: B256,
}

/// The committee vote commitment: `keccak256(abi.encode(stateHash, adapterHash, salt, member))`.
///
/// `adapter_hash` is zero unless the disputed interval is the last one.
pub fn vote_commitment(state_hash: B256, adapter_hash: B256, salt: B256, member: Address) -> B256 {
    keccak256((state_hash, adapter_hash, salt, member).abi_encode())
}

/// The calldata's intrinsic gas: 16 per non-zero byte, 4 per zero byte (EIP-2028).
pub fn calldata_gas(data: &[u8]) -> u64 {
    data.iter().map(|&b| if b == 0 { 4 } else { 16 }).sum()
}

/// The worker's reveal for sampled `intervals`: each interval's start state hash
/// (`state_hashes[j]` for interval `j`) and its Merkle proof.
pub fn reveal_args(
    trace: &TraceCommitment,
    state_hashes: &[B256],
    intervals: &[u64],
) -> Result<(Vec<B256>, Vec<Vec<B256>>), ContractError> {
    checkpoints_args(trace, state_hashes, intervals.iter().map(|&j| j as usize))
}

/// An attestation of sampled `intervals`: each interval's end state hash
/// (`state_hashes[j + 1]` for interval `j`) and its Merkle proof.
pub fn attest_args(
    trace: &TraceCommitment,
    state_hashes: &[B256],
    intervals: &[u64],
) -> Result<(Vec<B256>, Vec<Vec<B256>>), ContractError> {
    checkpoints_args(
        trace,
        state_hashes,
        intervals.iter().map(|&j| j as usize + 1),
    )
}

fn checkpoints_args(
    trace: &TraceCommitment,
    state_hashes: &[B256],
    checkpoints: impl Iterator<Item = usize>,
) -> Result<(Vec<B256>, Vec<Vec<B256>>), ContractError> {
    let mut hashes = Vec::new();
    let mut proofs = Vec::new();
    for c in checkpoints {
        let hash =
            state_hashes
                .get(c)
                .copied()
                .ok_or(crate::trace::TraceError::IndexOutOfRange {
                    index: c,
                    len: state_hashes.len(),
                })?;
        hashes.push(hash);
        proofs.push(trace.proof(c)?);
    }
    Ok((hashes, proofs))
}

/// An HTTP provider that signs with `signer`.
///
/// Nonces are read from the node for every transaction (alloy's default caches them and
/// skips one whenever gas estimation fails, so after a refused call every later
/// transaction would wait forever behind the gap). Gas is estimated, which is also where
/// a call that would revert is refused.
pub(crate) fn wallet_provider(url: Url, signer: PrivateKeySigner) -> DynProvider {
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(signer)
        .connect_http(url)
        .erased()
}

/// A client for one market, sending from one wallet.
///
/// Cheap to clone. Each actor (requester, worker, verifier, marketplace) uses its own.
#[derive(Debug, Clone)]
pub struct Market {
    provider: DynProvider,
    signer: PrivateKeySigner,
    market: MarketInstance,
    token: TokenInstance,
    log_start: u64,
}

impl Market {
    /// Connects to the market at `market` over the HTTP JSON-RPC endpoint `rpc_url`, sending
    /// from `signer`. Reads the market's token address.
    pub async fn connect(
        rpc_url: &str,
        signer: PrivateKeySigner,
        market: Address,
    ) -> Result<Self, ContractError> {
        let url: Url = rpc_url.parse().map_err(ContractError::transport)?;
        let provider = wallet_provider(url, signer.clone());
        let market = TernMarket::new(market, provider.clone());
        let token_address = market.token().call().await?;
        let token = IToken::new(token_address, provider.clone());
        Ok(Self {
            provider,
            signer,
            market,
            token,
            log_start: 0,
        })
    }

    /// Searches events from block `block` on (the market's deployment block) instead of genesis.
    pub fn with_log_start(mut self, block: u64) -> Self {
        self.log_start = block;
        self
    }

    /// The market's address.
    pub fn address(&self) -> Address {
        *self.market.address()
    }

    /// The settlement token's address.
    pub fn token(&self) -> Address {
        *self.token.address()
    }

    /// The address this client sends from.
    pub fn sender(&self) -> Address {
        self.signer.address()
    }

    /// The provider this client sends through (with its wallet).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    // ============================================================ token

    /// The token balance of `account`.
    pub async fn token_balance(&self, account: Address) -> Result<U256, ContractError> {
        Ok(self.token.balanceOf(account).call().await?)
    }

    /// Lets the market pull `amount` of the sender's tokens (for `create_job` and `stake`).
    ///
    /// Sends nothing when the allowance already covers `amount`. USDT refuses to change a
    /// non-zero allowance to another non-zero value, so a smaller non-zero allowance is
    /// first reset to zero: this returns zero, one or two transactions.
    pub async fn approve(&self, amount: U256) -> Result<Vec<Tx>, ContractError> {
        let spender = self.address();
        let current = self.token.allowance(self.sender(), spender).call().await?;
        let mut txs = Vec::new();
        if current >= amount {
            return Ok(txs);
        }
        if !current.is_zero() {
            txs.push(self.send(self.token.approve(spender, U256::ZERO)).await?);
        }
        txs.push(self.send(self.token.approve(spender, amount)).await?);
        Ok(txs)
    }

    /// Signs an EIP-2612 permit letting the market pull `amount` until `deadline`.
    ///
    /// Fails when the token has no permit (USDT on mainnet): approve instead.
    pub async fn sign_permit(&self, amount: U256, deadline: U256) -> Result<Permit, ContractError> {
        const PERMIT_TYPEHASH: &[u8] =
            b"Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)";
        let owner = self.sender();
        let nonce = self.token.nonces(owner).call().await?;
        let domain = self.token.DOMAIN_SEPARATOR().call().await?;
        let struct_hash = keccak256(
            (
                keccak256(PERMIT_TYPEHASH),
                owner,
                self.address(),
                amount,
                nonce,
                deadline,
            )
                .abi_encode(),
        );
        let mut message = Vec::with_capacity(66);
        message.extend_from_slice(&[0x19, 0x01]);
        message.extend_from_slice(domain.as_slice());
        message.extend_from_slice(struct_hash.as_slice());
        let signature = self.signer.sign_hash(&keccak256(message)).await?;
        Ok(Permit {
            deadline,
            v: 27 + u8::from(signature.v()),
            r: signature.r().into(),
            s: signature.s().into(),
        })
    }

    // ============================================================ requester

    /// Posts and funds a job; returns its id. Approve `params.escrow()` first ([`Market::approve`]).
    pub async fn create_job(&self, params: &JobParams) -> Result<Tx<U256>, ContractError> {
        let tx = self.send(self.market.createJob(params.into())).await?;
        let created: TernMarket::JobCreated = self.event(&tx, "JobCreated")?;
        Ok(tx.with(created.jobId))
    }

    /// Posts and funds a job, authorising the transfer with a permit signed here (tokens with
    /// EIP-2612, like USDT0); returns its id.
    pub async fn create_job_with_permit(
        &self,
        params: &JobParams,
        deadline: U256,
    ) -> Result<Tx<U256>, ContractError> {
        let p = self.sign_permit(params.escrow(), deadline).await?;
        let call = self
            .market
            .createJobWithPermit(params.into(), p.deadline, p.v, p.r, p.s);
        let tx = self.send(call).await?;
        let created: TernMarket::JobCreated = self.event(&tx, "JobCreated")?;
        Ok(tx.with(created.jobId))
    }

    /// Takes an Open job back; the requester is credited the escrow.
    pub async fn cancel_job(&self, job_id: U256) -> Result<Tx, ContractError> {
        self.send(self.market.cancelJob(job_id)).await
    }

    // ============================================================ stakers

    /// Bonds `amount` (approve first). Returns what was credited, net of any token fee.
    pub async fn stake(&self, amount: U256) -> Result<Tx<U256>, ContractError> {
        let tx = self.send(self.market.stake(amount)).await?;
        let staked: TernMarket::Staked = self.event(&tx, "Staked")?;
        Ok(tx.with(staked.amount))
    }

    /// Bonds `amount` with a permit signed here. Returns what was credited.
    pub async fn stake_with_permit(
        &self,
        amount: U256,
        deadline: U256,
    ) -> Result<Tx<U256>, ContractError> {
        let p = self.sign_permit(amount, deadline).await?;
        let call = self
            .market
            .stakeWithPermit(amount, p.deadline, p.v, p.r, p.s);
        let tx = self.send(call).await?;
        let staked: TernMarket::Staked = self.event(&tx, "Staked")?;
        Ok(tx.with(staked.amount))
    }

    /// Starts unbonding `amount` of free stake; returns when it can be withdrawn (timestamp).
    pub async fn request_unstake(&self, amount: U256) -> Result<Tx<u64>, ContractError> {
        let tx = self.send(self.market.requestUnstake(amount)).await?;
        let req: TernMarket::UnstakeRequested = self.event(&tx, "UnstakeRequested")?;
        Ok(tx.with(req.releaseAt.saturating_to()))
    }

    /// Sends all unbonded stake to `to` once the delay has passed; returns the amount.
    pub async fn withdraw_unstaked(&self, to: Address) -> Result<Tx<U256>, ContractError> {
        let tx = self.send(self.market.withdrawUnstaked(to)).await?;
        let w: TernMarket::UnstakeWithdrawn = self.event(&tx, "UnstakeWithdrawn")?;
        Ok(tx.with(w.amount))
    }

    /// Sends the sender's whole withdrawable balance to `to`; returns the amount.
    pub async fn withdraw(&self, to: Address) -> Result<Tx<U256>, ContractError> {
        let tx = self.send(self.market.withdraw(to)).await?;
        let w: TernMarket::Withdrawn = self.event(&tx, "Withdrawn")?;
        Ok(tx.with(w.amount))
    }

    /// Enters the verifier pool (needs the minimum verifier stake).
    pub async fn join_verifier_pool(&self) -> Result<Tx, ContractError> {
        self.send(self.market.joinVerifierPool()).await
    }

    /// Leaves the verifier pool; current assignments still stand.
    pub async fn leave_verifier_pool(&self) -> Result<Tx, ContractError> {
        self.send(self.market.leaveVerifierPool()).await
    }

    // ============================================================ worker

    /// Claims an Open job, locking its worker bond from the sender's free stake.
    pub async fn claim_job(&self, job_id: U256) -> Result<Tx, ContractError> {
        self.send(self.market.claimJob(job_id)).await
    }

    /// Commits the trace root and the adapter hash; returns the result with its anchor block.
    pub async fn submit_result(
        &self,
        job_id: U256,
        trace_root: B256,
        adapter_hash: B256,
    ) -> Result<Tx<JobResult>, ContractError> {
        let tx = self
            .send(self.market.submitResult(job_id, trace_root, adapter_hash))
            .await?;
        let e: TernMarket::ResultSubmitted = self.event(&tx, "ResultSubmitted")?;
        let result = JobResult {
            trace_root: e.traceRoot,
            adapter_hash: e.adapterHash,
            anchor_block: e.anchorBlock.saturating_to(),
        };
        Ok(tx.with(result))
    }

    /// Reveals the sampled intervals' start state hashes with their proofs ([`reveal_args`]).
    pub async fn reveal_checkpoints(
        &self,
        job_id: U256,
        audit: &Audit,
        start_state_hashes: Vec<B256>,
        proofs: Vec<Vec<B256>>,
    ) -> Result<Tx, ContractError> {
        let call = self
            .market
            .revealCheckpoints(job_id, audit.into(), start_state_hashes, proofs);
        self.send(call).await
    }

    /// Starts the audit and reveals in one transaction. The worker reads the seed first
    /// ([`Market::audit_seed`]) and samples the intervals ([`Market::sample_intervals`]) to
    /// know which checkpoints to reveal. Returns the audit assignment.
    pub async fn start_audit_and_reveal(
        &self,
        job_id: U256,
        result: &JobResult,
        start_state_hashes: Vec<B256>,
        proofs: Vec<Vec<B256>>,
    ) -> Result<Tx<Audit>, ContractError> {
        let call =
            self.market
                .startAuditAndReveal(job_id, result.into(), start_state_hashes, proofs);
        let tx = self.send(call).await?;
        let started: TernMarket::AuditStarted = self.event(&tx, "AuditStarted")?;
        let audit = Audit {
            trace_root: result.trace_root,
            adapter_hash: result.adapter_hash,
            seed: started.seed,
            verifiers: started.verifiers,
        };
        Ok(tx.with(audit))
    }

    // ============================================================ anyone

    /// Seeds the audit from the anchor block's hash. If the anchor aged out of `blockhash`
    /// range, the worker is slashed instead (or, with an empty verifier pool, the audit is
    /// re-anchored): see [`AuditStart`].
    pub async fn start_audit(
        &self,
        job_id: U256,
        result: &JobResult,
    ) -> Result<Tx<AuditStart>, ContractError> {
        let tx = self
            .send(self.market.startAudit(job_id, result.into()))
            .await?;
        if let Some(started) = self.find_event::<TernMarket::AuditStarted>(&tx) {
            let audit = Audit {
                trace_root: result.trace_root,
                adapter_hash: result.adapter_hash,
                seed: started.seed,
                verifiers: started.verifiers,
            };
            return Ok(tx.with(AuditStart::Started(audit)));
        }
        if let Some(re) = self.find_event::<TernMarket::AuditReanchored>(&tx) {
            let result = JobResult {
                anchor_block: re.anchorBlock.saturating_to(),
                ..*result
            };
            return Ok(tx.with(AuditStart::Reanchored(result)));
        }
        match self.last_state(&tx)? {
            JobState::Slashed => Ok(tx.with(AuditStart::WorkerSlashed)),
            _ => Err(ContractError::event_missing(
                "AuditStarted",
                format!("transaction {}", tx.hash()),
            )),
        }
    }

    /// After the attest deadline, slashes verifiers that did not attest and draws
    /// replacements. Returns the updated assignment (the job may have expired instead:
    /// check [`Market::job`]).
    pub async fn replace_verifiers(
        &self,
        job_id: U256,
        audit: &Audit,
    ) -> Result<Tx<Audit>, ContractError> {
        let tx = self
            .send(self.market.replaceVerifiers(job_id, audit.into()))
            .await?;
        let mut updated = audit.clone();
        for r in self.events::<TernMarket::VerifierReplaced>(&tx) {
            if let Some(slot) = updated.verifiers.get_mut(r.index.saturating_to::<usize>()) {
                *slot = r.replacement;
            }
        }
        Ok(tx.with(updated))
    }

    /// After the challenge window, pays the worker and the verifiers (credited; withdraw to collect).
    pub async fn finalize(&self, job_id: U256, audit: &Audit) -> Result<Tx, ContractError> {
        self.send(self.market.finalize(job_id, audit.into())).await
    }

    /// Moves a job whose deadline passed; returns the state it moved to.
    pub async fn expire_job(&self, job_id: U256) -> Result<Tx<JobState>, ContractError> {
        let tx = self.send(self.market.expireJob(job_id)).await?;
        let state = self.last_state(&tx)?;
        Ok(tx.with(state))
    }

    // ============================================================ verifier

    /// Attests sampled intervals `indexes` (positions in the audit, not interval numbers)
    /// with the recomputed end state hashes and their proofs ([`attest_args`]).
    pub async fn attest(
        &self,
        job_id: U256,
        audit: &Audit,
        indexes: &[u64],
        end_state_hashes: Vec<B256>,
        proofs: Vec<Vec<B256>>,
    ) -> Result<Tx, ContractError> {
        let indexes = indexes.iter().map(|&i| U256::from(i)).collect();
        let call = self
            .market
            .attest(job_id, audit.into(), indexes, end_state_hashes, proofs);
        self.send(call).await
    }

    /// Contests sampled interval `index`, locking the dispute bond.
    pub async fn dispute(
        &self,
        job_id: U256,
        audit: &Audit,
        index: u64,
    ) -> Result<Tx, ContractError> {
        let call = self.market.dispute(job_id, audit.into(), U256::from(index));
        self.send(call).await
    }

    /// Draws the dispute committee; `None` when the anchor aged out and was moved instead.
    pub async fn draw_committee(
        &self,
        job_id: U256,
    ) -> Result<Tx<Option<Committee>>, ContractError> {
        let tx = self.send(self.market.drawCommittee(job_id)).await?;
        let committee = self
            .find_event::<TernMarket::CommitteeDrawn>(&tx)
            .map(|c| Committee {
                members: c.members,
                commit_deadline: c.commitDeadline.saturating_to(),
                reveal_deadline: c.revealDeadline.saturating_to(),
            });
        Ok(tx.with(committee))
    }

    /// Commits a committee vote ([`vote_commitment`]).
    pub async fn commit_vote(&self, job_id: U256, commitment: B256) -> Result<Tx, ContractError> {
        self.send(self.market.commitVote(job_id, commitment)).await
    }

    /// Opens a committee vote.
    pub async fn reveal_vote(
        &self,
        job_id: U256,
        state_hash: B256,
        adapter_hash: B256,
        salt: B256,
    ) -> Result<Tx, ContractError> {
        let call = self
            .market
            .revealVote(job_id, state_hash, adapter_hash, salt);
        self.send(call).await
    }

    /// Settles the dispute. `proof` proves the majority value is in the worker's trace (empty
    /// to claim it is not, after the proof window).
    pub async fn resolve_dispute(
        &self,
        job_id: U256,
        audit: &Audit,
        proof: Vec<B256>,
    ) -> Result<Tx<DisputeOutcome>, ContractError> {
        let tx = self
            .send(self.market.resolveDispute(job_id, audit.into(), proof))
            .await?;
        let e: TernMarket::DisputeResolved = self.event(&tx, "DisputeResolved")?;
        let outcome = DisputeOutcome::try_from(e.outcome)?;
        Ok(tx.with(outcome))
    }

    // ============================================================ views

    /// The job's record; [`ContractError::JobNotFound`] when there is none.
    pub async fn job(&self, job_id: U256) -> Result<Job, ContractError> {
        let job = Job::try_from(self.market.getJob(job_id).call().await?)?;
        if job.state == JobState::None {
            return Err(ContractError::JobNotFound(job_id));
        }
        Ok(job)
    }

    /// The market-wide settings.
    pub async fn config(&self) -> Result<MarketConfig, ContractError> {
        Ok(self.market.getConfig().call().await?.into())
    }

    /// `account`'s stake, locked stake and withdrawable balance.
    pub async fn account_of(&self, account: Address) -> Result<Account, ContractError> {
        Ok(self.market.accountOf(account).call().await?.into())
    }

    /// `account`'s stake on its way out.
    pub async fn unbonding_of(&self, account: Address) -> Result<Unbonding, ContractError> {
        Ok(self.market.unbondingOf(account).call().await?.into())
    }

    /// Tokens the market holds for the job (zero once it is over).
    pub async fn escrow_of(&self, job_id: U256) -> Result<U256, ContractError> {
        Ok(self.market.escrowOf(job_id).call().await?)
    }

    /// Everyone who ever joined the verifier pool, in pool order.
    pub async fn pool_members(&self) -> Result<Vec<Address>, ContractError> {
        Ok(self.market.poolMembers().call().await?)
    }

    /// The `sample_count` audited intervals out of `num_intervals` for `seed`, ascending.
    pub async fn sample_intervals(
        &self,
        seed: B256,
        num_intervals: u32,
        sample_count: u8,
    ) -> Result<Vec<u64>, ContractError> {
        let call =
            self.market
                .sampleIntervals(seed, U256::from(num_intervals), U256::from(sample_count));
        Ok(call
            .call()
            .await?
            .into_iter()
            .map(|i| i.saturating_to())
            .collect())
    }

    /// The audited intervals of job `job_id` under `audit`.
    pub async fn audit_intervals(
        &self,
        job_id: U256,
        audit: &Audit,
    ) -> Result<Vec<u64>, ContractError> {
        let job = self.job(job_id).await?;
        self.sample_intervals(audit.seed, job.num_intervals, job.sample_count)
            .await
    }

    /// The leaf the contract derives: `keccak256(abi.encode(jobId, step, stateHash))`.
    pub async fn trace_leaf(
        &self,
        job_id: U256,
        step: u64,
        state_hash: B256,
    ) -> Result<B256, ContractError> {
        Ok(self
            .market
            .traceLeaf(job_id, U256::from(step), state_hash)
            .call()
            .await?)
    }

    /// The audit seed of `result`: its anchor block's hash. Fails with
    /// [`ContractError::SeedNotReady`] until that block is mined.
    pub async fn audit_seed(&self, result: &JobResult) -> Result<B256, ContractError> {
        let not_ready = ContractError::SeedNotReady {
            anchor_block: result.anchor_block,
        };
        if self.provider.get_block_number().await? < result.anchor_block {
            return Err(not_ready);
        }
        let block = self
            .provider
            .get_block_by_number(result.anchor_block.into())
            .await?
            .ok_or(not_ready)?;
        Ok(block.header.hash)
    }

    /// The job's submitted result, rebuilt from `ResultSubmitted` and `AuditReanchored`.
    pub async fn result_of(&self, job_id: U256) -> Result<JobResult, ContractError> {
        let logs = self
            .job_logs(
                job_id,
                &[
                    TernMarket::ResultSubmitted::SIGNATURE_HASH,
                    TernMarket::AuditReanchored::SIGNATURE_HASH,
                ],
            )
            .await?;
        let mut result = None;
        for log in &logs {
            if let Ok(e) = log.log_decode::<TernMarket::ResultSubmitted>() {
                let e = e.inner.data;
                result = Some(JobResult {
                    trace_root: e.traceRoot,
                    adapter_hash: e.adapterHash,
                    anchor_block: e.anchorBlock.saturating_to(),
                });
            } else if let (Ok(e), Some(r)) = (
                log.log_decode::<TernMarket::AuditReanchored>(),
                result.as_mut(),
            ) {
                r.anchor_block = e.inner.data.anchorBlock.saturating_to();
            }
        }
        match result {
            Some(r) => Ok(r),
            None => Err(self.missing(job_id, "ResultSubmitted").await),
        }
    }

    /// The job's audit assignment, rebuilt from `ResultSubmitted`, `AuditStarted` and
    /// `VerifierReplaced`.
    pub async fn audit_of(&self, job_id: U256) -> Result<Audit, ContractError> {
        let logs = self
            .job_logs(
                job_id,
                &[
                    TernMarket::ResultSubmitted::SIGNATURE_HASH,
                    TernMarket::AuditStarted::SIGNATURE_HASH,
                    TernMarket::VerifierReplaced::SIGNATURE_HASH,
                ],
            )
            .await?;
        let mut result = None;
        let mut audit: Option<Audit> = None;
        for log in &logs {
            if let Ok(e) = log.log_decode::<TernMarket::ResultSubmitted>() {
                result = Some(e.inner.data);
                audit = None;
            } else if let Ok(e) = log.log_decode::<TernMarket::AuditStarted>() {
                if let Some(r) = &result {
                    audit = Some(Audit {
                        trace_root: r.traceRoot,
                        adapter_hash: r.adapterHash,
                        seed: e.inner.data.seed,
                        verifiers: e.inner.data.verifiers,
                    });
                }
            } else if let Ok(e) = log.log_decode::<TernMarket::VerifierReplaced>() {
                let e = e.inner.data;
                if let Some(slot) = audit
                    .as_mut()
                    .and_then(|a| a.verifiers.get_mut(e.index.saturating_to::<usize>()))
                {
                    *slot = e.replacement;
                }
            }
        }
        match audit {
            Some(a) => Ok(a),
            None => Err(self.missing(job_id, "AuditStarted").await),
        }
    }

    /// The start state hashes the worker revealed, in sampled-interval order: the ids of
    /// the checkpoint blobs a verifier fetches (from `CheckpointsRevealed`).
    pub async fn revealed_checkpoints(&self, job_id: U256) -> Result<Vec<B256>, ContractError> {
        let logs = self
            .job_logs(job_id, &[TernMarket::CheckpointsRevealed::SIGNATURE_HASH])
            .await?;
        match logs
            .iter()
            .rev()
            .find_map(|log| log.log_decode::<TernMarket::CheckpointsRevealed>().ok())
        {
            Some(e) => Ok(e.inner.data.startStateHashes),
            None => Err(self.missing(job_id, "CheckpointsRevealed").await),
        }
    }

    // ============================================================ internals

    async fn send<C: SolCall>(
        &self,
        call: SolCallBuilder<&DynProvider, C>,
    ) -> Result<Tx, ContractError> {
        let calldata_gas = calldata_gas(call.calldata());
        let receipt = call.send().await?.get_receipt().await?;
        if !receipt.status() {
            return Err(ContractError::Failed {
                tx_hash: receipt.transaction_hash,
                gas_used: receipt.gas_used,
            });
        }
        Ok(Tx {
            outcome: (),
            receipt,
            calldata_gas,
        })
    }

    fn market_logs<'a, T>(&self, tx: &'a Tx<T>) -> impl Iterator<Item = &'a Log> + 'a {
        let market = self.address();
        tx.receipt
            .inner
            .logs()
            .iter()
            .filter(move |log| log.address() == market)
    }

    fn events<E: SolEvent>(&self, tx: &Tx<impl Sized>) -> Vec<E> {
        self.market_logs(tx)
            .filter_map(|log| log.log_decode::<E>().ok())
            .map(|log| log.inner.data)
            .collect()
    }

    fn find_event<E: SolEvent>(&self, tx: &Tx<impl Sized>) -> Option<E> {
        self.market_logs(tx)
            .find_map(|log| log.log_decode::<E>().ok())
            .map(|log| log.inner.data)
    }

    fn event<E: SolEvent>(&self, tx: &Tx, name: &'static str) -> Result<E, ContractError> {
        self.find_event(tx)
            .ok_or_else(|| ContractError::event_missing(name, format!("transaction {}", tx.hash())))
    }

    /// The state the transaction left the job in (its last `JobStateChanged`).
    fn last_state<T>(&self, tx: &Tx<T>) -> Result<JobState, ContractError> {
        let last = self
            .events::<TernMarket::JobStateChanged>(tx)
            .pop()
            .ok_or_else(|| {
                ContractError::event_missing(
                    "JobStateChanged",
                    format!("transaction {}", tx.hash()),
                )
            })?;
        JobState::try_from(last.state)
    }

    async fn job_logs(&self, job_id: U256, signatures: &[B256]) -> Result<Vec<Log>, ContractError> {
        let filter = Filter::new()
            .address(self.address())
            .event_signature(signatures.to_vec())
            .topic1(B256::from(job_id))
            .from_block(self.log_start);
        let mut logs = self.provider.get_logs(&filter).await?;
        logs.sort_by_key(|log| (log.block_number, log.log_index));
        Ok(logs)
    }

    /// `JobNotFound` if the job does not exist, else `EventMissing`.
    async fn missing(&self, job_id: U256, event: &'static str) -> ContractError {
        match self.job(job_id).await {
            Err(e) => e,
            Ok(_) => ContractError::event_missing(event, format!("job {job_id:#x}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vote_commitment_is_abi_encode_of_four_words() {
        let (s, a, salt) = (B256::repeat_byte(1), B256::ZERO, B256::repeat_byte(2));
        let member = Address::repeat_byte(3);
        let mut buf = Vec::new();
        buf.extend_from_slice(s.as_slice());
        buf.extend_from_slice(a.as_slice());
        buf.extend_from_slice(salt.as_slice());
        buf.extend_from_slice(&[0u8; 12]);
        buf.extend_from_slice(member.as_slice());
        assert_eq!(vote_commitment(s, a, salt, member), keccak256(buf));
    }

    #[test]
    fn calldata_gas_counts_zero_and_non_zero_bytes() {
        assert_eq!(calldata_gas(&[0, 1, 0, 255]), 4 + 16 + 4 + 16);
    }
}
