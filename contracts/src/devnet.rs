//! A local development chain: anvil with the market deployed, funded accounts, time control,
//! and a scripted honest job lifecycle.
//!
//! [`Devnet::spawn`] starts anvil, deploys `MockUSDT` (the USDT stand-in with mainnet's
//! quirks) and a `TernMarket` with [`local_config`] (short windows), and mints
//! [`DevnetOptions::fund`] to every named account. [`Devnet::client`] gives each actor a
//! [`Market`] client with its own key. [`honest_scenario`] plays a whole job to payout and
//! reports each step's gas and the balances after it; the integration tests, the gas
//! benchmark and the local demo all use it.
//!
//! The anvil binary is found through the `TERN_ANVIL` environment variable, else `anvil` on
//! `PATH`, else the repository's pinned copy under `node_modules/` (installed by
//! `deploy/toolchain.sh`).
//!
//! Traces here are fakes that need no training: [`FakeTrace`] chains sha256 hashes so that a
//! verifier can "re-run" an interval by hashing its start state.

use std::path::PathBuf;

use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{DynProvider, Provider};
use alloy::signers::local::PrivateKeySigner;
use sha2::{Digest, Sha256};

use crate::bindings::{IFaucet, MockPermitToken, MockUSDT, TernMarket};
use crate::client::{Market, Tx, reveal_args, wallet_provider};
use crate::error::ContractError;
use crate::trace::{TraceCommitment, TraceError};
use crate::types::{Account, Audit, JobParams, JobState, MarketConfig};

/// Environment variable naming the anvil binary to run.
pub const ANVIL_ENV: &str = "TERN_ANVIL";

/// One USDT in base units (6 decimals).
pub const USDT: u64 = 1_000_000;

/// The anvil binary: `$TERN_ANVIL`, else `anvil` on `PATH`, else the repository's pinned copy.
pub fn anvil_path() -> PathBuf {
    if let Some(path) = std::env::var_os(ANVIL_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    if let Some(path) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("anvil"))
        .find(|candidate| candidate.is_file())
    {
        return path;
    }
    // contracts/ is one level below the workspace root.
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
    ))
}

/// The market settings of the local chain: every window short, so tests move time by minutes.
///
/// Audit seeds come 2 blocks after a submission; reveal, attest and challenge windows are 10
/// minutes; a committee of 3 has 5 minutes each to commit and reveal, and anyone has 5 more
/// to prove the majority value is in the trace. The unbonding delay (2 hours) covers the
/// longest assignment, as the constructor requires. The penalty is 10 USDT, the dispute bond
/// 20 USDT, the minimum verifier stake 100 USDT.
pub fn local_config() -> MarketConfig {
    MarketConfig {
        audit_delay: 2,
        audit_start_timeout: 3600,
        reveal_window: 600,
        attest_window: 600,
        challenge_window: 600,
        commit_window: 300,
        vote_reveal_window: 300,
        proof_window: 300,
        unbonding_delay: 7200,
        committee_size: 3,
        max_replacement_rounds: 2,
        verifier_penalty: U256::from(10 * USDT),
        dispute_bond: U256::from(20 * USDT),
        min_verifier_stake: U256::from(100 * USDT),
    }
}

/// The token the devnet's market settles in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TestToken {
    /// `MockUSDT`: no return values, approve-from-zero, fee switch, blacklist.
    #[default]
    Usdt,
    /// `MockPermitToken`: a USDT0-like ERC-20 with EIP-2612 `permit`.
    PermitToken,
}

/// How to start a [`Devnet`].
#[derive(Debug, Clone)]
pub struct DevnetOptions {
    /// The market's settings.
    pub config: MarketConfig,
    /// The settlement token.
    pub token: TestToken,
    /// Tokens minted to every account but the deployer.
    pub fund: U256,
}

impl Default for DevnetOptions {
    fn default() -> Self {
        Self {
            config: local_config(),
            token: TestToken::default(),
            fund: U256::from(1_000_000 * USDT),
        }
    }
}

/// Who an anvil account plays. Anvil's default mnemonic gives ten accounts; `Extra(n)` is
/// account `4 + n`, for `n < 6` (more verifiers, committee members, challengers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Account 0: deploys the contracts; also plays the marketplace ("anyone").
    Deployer,
    /// Account 1: posts jobs.
    Requester,
    /// Account 2: claims and trains.
    Worker,
    /// Account 3: audits.
    Verifier,
    /// Account `4 + n`.
    Extra(usize),
}

impl Role {
    /// The anvil account index.
    pub fn index(self) -> usize {
        match self {
            Self::Deployer => 0,
            Self::Requester => 1,
            Self::Worker => 2,
            Self::Verifier => 3,
            Self::Extra(n) => 4 + n,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Extra(n) => write!(f, "extra{n}"),
            other => write!(f, "{}", format!("{other:?}").to_lowercase()),
        }
    }
}

/// A running local chain with the market deployed. Dropping it stops anvil.
#[derive(Debug)]
pub struct Devnet {
    anvil: AnvilInstance,
    provider: DynProvider,
    market: Address,
    token: Address,
    config: MarketConfig,
    deploy_block: u64,
}

impl Devnet {
    /// Starts anvil and deploys MockUSDT and the market with [`local_config`].
    pub async fn spawn() -> Result<Self, ContractError> {
        Self::spawn_with(DevnetOptions::default()).await
    }

    /// Starts anvil and deploys the token and the market as `options` say.
    pub async fn spawn_with(options: DevnetOptions) -> Result<Self, ContractError> {
        let path = anvil_path();
        let anvil = Anvil::at(&path)
            .arg("--hardfork")
            .arg("prague")
            .try_spawn()
            .map_err(|e| {
                ContractError::Devnet(format!(
                    "cannot start anvil at {} ({e}); set {ANVIL_ENV} or run deploy/toolchain.sh",
                    path.display()
                ))
            })?;
        let deployer = signer_of(&anvil, Role::Deployer)?;
        let provider = wallet_provider(anvil.endpoint_url(), deployer);

        let deploy_block = provider.get_block_number().await?;
        let token = match options.token {
            TestToken::Usdt => *MockUSDT::deploy(provider.clone()).await?.address(),
            TestToken::PermitToken => *MockPermitToken::deploy(provider.clone()).await?.address(),
        };
        let market = *TernMarket::deploy(provider.clone(), token, (&options.config).into())
            .await?
            .address();
        let devnet = Self {
            anvil,
            provider,
            market,
            token,
            config: options.config,
            deploy_block,
        };
        if !options.fund.is_zero() {
            for i in 1..devnet.anvil.addresses().len() {
                let to = devnet.anvil.addresses()[i];
                devnet.mint(to, options.fund).await?;
            }
        }
        Ok(devnet)
    }

    /// The JSON-RPC endpoint, `http://localhost:<port>`.
    pub fn endpoint(&self) -> String {
        self.anvil.endpoint()
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.anvil.chain_id()
    }

    /// The market's address.
    pub fn market(&self) -> Address {
        self.market
    }

    /// The token's address.
    pub fn token(&self) -> Address {
        self.token
    }

    /// The market's settings.
    pub fn config(&self) -> &MarketConfig {
        &self.config
    }

    /// The block the contracts were deployed after (where event searches start).
    pub fn deploy_block(&self) -> u64 {
        self.deploy_block
    }

    /// The key of `role`'s account.
    pub fn signer(&self, role: Role) -> Result<PrivateKeySigner, ContractError> {
        signer_of(&self.anvil, role)
    }

    /// The address of `role`'s account.
    ///
    /// # Panics
    ///
    /// For `Role::Extra(n)` with `n >= 6`: anvil has ten accounts.
    pub fn address(&self, role: Role) -> Address {
        match self.anvil.addresses().get(role.index()) {
            Some(&address) => address,
            None => panic!("no anvil account {} for {role}", role.index()),
        }
    }

    /// A market client sending from `role`'s account.
    pub async fn client(&self, role: Role) -> Result<Market, ContractError> {
        let market = Market::connect(&self.endpoint(), self.signer(role)?, self.market).await?;
        Ok(market.with_log_start(self.deploy_block))
    }

    /// Mints `amount` tokens to `to` with the mock's open faucet.
    pub async fn mint(&self, to: Address, amount: U256) -> Result<(), ContractError> {
        IFaucet::new(self.token, &self.provider)
            .mint(to, amount)
            .send()
            .await?
            .get_receipt()
            .await?;
        Ok(())
    }

    /// Mines `blocks` empty blocks.
    pub async fn mine(&self, blocks: u64) -> Result<(), ContractError> {
        self.provider.anvil_mine(Some(blocks), None).await?;
        Ok(())
    }

    /// Moves the clock forward by `seconds` and mines a block with the new time.
    pub async fn advance_time(&self, seconds: u64) -> Result<(), ContractError> {
        self.provider.anvil_increase_time(seconds).await?;
        self.mine(1).await
    }

    /// The latest block's timestamp.
    pub async fn timestamp(&self) -> Result<u64, ContractError> {
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?
            .ok_or_else(|| ContractError::Devnet("no latest block".into()))?;
        Ok(block.header.timestamp)
    }

    /// The latest block number.
    pub async fn block_number(&self) -> Result<u64, ContractError> {
        Ok(self.provider.get_block_number().await?)
    }

    /// Job parameters for a small job: 60 steps checkpointed every 10 (6 intervals), 3
    /// sampled, reward 100 USDT, fee 2 USDT per interval, bond 50 USDT, open for an hour,
    /// an hour to train. `tag` makes the spec hash unique.
    pub async fn job_params(&self, tag: &str) -> Result<JobParams, ContractError> {
        Ok(JobParams {
            spec_hash: keccak256(format!("tern devnet spec {tag}")),
            reward: U256::from(100 * USDT),
            verifier_fee: U256::from(2 * USDT),
            worker_bond: U256::from(50 * USDT),
            total_steps: 60,
            checkpoint_interval: 10,
            sample_count: 3,
            open_until: self.timestamp().await? + 3600,
            train_duration: 3600,
        })
    }
}

fn signer_of(anvil: &AnvilInstance, role: Role) -> Result<PrivateKeySigner, ContractError> {
    let key = anvil.keys().get(role.index()).ok_or_else(|| {
        ContractError::Devnet(format!("no anvil account {} for {role}", role.index()))
    })?;
    Ok(PrivateKeySigner::from_signing_key(key.clone().into()))
}

/// A fake training trace: state hashes chained with sha256, so re-running interval `j` is
/// hashing its start state ([`FakeTrace::step`]).
///
/// `stateHash_0 = sha256("tern.devnet.init" ‖ seed ‖ jobId)`,
/// `stateHash_{j+1} = sha256("tern.devnet.step" ‖ jobId ‖ j ‖ stateHash_j)`, and the adapter
/// hash is `sha256("tern.devnet.adapter" ‖ stateHash_n)`. A cheating worker skips work from a
/// checkpoint on: those state hashes are junk that no honest step produces.
#[derive(Debug, Clone)]
pub struct FakeTrace {
    /// `state_hashes[j]` is the state after `j * k` steps, `j = 0..=n`.
    pub state_hashes: Vec<B256>,
    /// The adapter hash the worker submits.
    pub adapter_hash: B256,
    /// The Merkle commitment over the state hashes.
    pub commitment: TraceCommitment,
}

impl FakeTrace {
    /// The honest trace of job `job_id` with `num_intervals` intervals of `k` steps.
    pub fn honest(
        job_id: U256,
        num_intervals: u32,
        k: u32,
        seed: u64,
    ) -> Result<Self, ContractError> {
        Self::build(job_id, num_intervals, k, seed, None)
    }

    /// A trace that is honest up to checkpoint `from - 1` and junk from checkpoint `from` on
    /// (`from >= 1`): interval `from - 1` is the first whose end an honest verifier disputes.
    /// With `from = num_intervals` only the last interval is wrong, and it is always sampled.
    pub fn cheating_from(
        job_id: U256,
        num_intervals: u32,
        k: u32,
        seed: u64,
        from: u32,
    ) -> Result<Self, ContractError> {
        Self::build(job_id, num_intervals, k, seed, Some(from.max(1)))
    }

    fn build(
        job_id: U256,
        num_intervals: u32,
        k: u32,
        seed: u64,
        cheat_from: Option<u32>,
    ) -> Result<Self, ContractError> {
        let mut state_hashes = vec![hash_parts(&[
            b"tern.devnet.init",
            &seed.to_be_bytes(),
            &job_id.to_be_bytes::<32>(),
        ])];
        for j in 0..num_intervals {
            let next = match cheat_from {
                Some(from) if j + 1 >= from => hash_parts(&[
                    b"tern.devnet.skipped",
                    &job_id.to_be_bytes::<32>(),
                    &(j + 1).to_be_bytes(),
                ]),
                _ => Self::step(job_id, j, state_hashes[j as usize]),
            };
            state_hashes.push(next);
        }
        let adapter_hash = Self::adapter_of(state_hashes[num_intervals as usize]);
        let commitment = TraceCommitment::from_state_hashes(job_id, u64::from(k), &state_hashes)?;
        Ok(Self {
            state_hashes,
            adapter_hash,
            commitment,
        })
    }

    /// What an honest verifier computes for the end of interval `j` from its start state.
    pub fn step(job_id: U256, j: u32, start: B256) -> B256 {
        hash_parts(&[
            b"tern.devnet.step",
            &job_id.to_be_bytes::<32>(),
            &j.to_be_bytes(),
            start.as_slice(),
        ])
    }

    /// The adapter hash exported from the final state.
    pub fn adapter_of(final_state: B256) -> B256 {
        hash_parts(&[b"tern.devnet.adapter", final_state.as_slice()])
    }

    /// The trace root.
    pub fn root(&self) -> B256 {
        self.commitment.root()
    }

    /// What `verifier` attests when it re-runs its sampled intervals of this trace (job `job_id`) from the start
    /// states the worker revealed: its positions in `audit`, the end state hashes it computes and their Merkle
    /// proofs, the arguments of [`Market::attest`]. `sampled[i]` and `starts[i]` are position `i`'s interval and
    /// revealed start state ([`Market::audit_intervals`], [`Market::revealed_checkpoints`]).
    pub fn attestation(
        &self,
        job_id: U256,
        audit: &Audit,
        sampled: &[u64],
        starts: &[B256],
        verifier: Address,
    ) -> Result<Attestation, TraceError> {
        let mut attestation = Attestation::default();
        for (i, (&j, &start)) in sampled.iter().zip(starts).enumerate() {
            if audit.verifiers.get(i) == Some(&verifier) {
                attestation.indexes.push(i as u64);
                attestation.ends.push(Self::step(job_id, j as u32, start));
                attestation
                    .proofs
                    .push(self.commitment.proof(j as usize + 1)?);
            }
        }
        Ok(attestation)
    }
}

/// One verifier's attestation of its sampled intervals ([`FakeTrace::attestation`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attestation {
    /// Its positions in the audit.
    pub indexes: Vec<u64>,
    /// The end state hash it computed for each.
    pub ends: Vec<B256>,
    /// The Merkle proof of each end state's leaf.
    pub proofs: Vec<Vec<B256>>,
}

fn hash_parts(parts: &[&[u8]]) -> B256 {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    B256::from_slice(&hasher.finalize())
}

/// Whether a scenario step prepares an actor once or belongs to each job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// One-time setup: approve, stake, join the verifier pool.
    Setup,
    /// Part of every job's lifecycle.
    Lifecycle,
}

/// An actor's tokens: in its wallet and held by the market for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Holdings {
    /// Token balance of the actor's address.
    pub wallet: U256,
    /// Stake, locked stake and withdrawable balance in the market.
    pub account: Account,
}

/// The job's state and everyone's money after a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The job's state (`None` before it is created).
    pub job_state: Option<JobState>,
    /// What the market holds for the job.
    pub escrow: U256,
    /// The market's token balance.
    pub market_tokens: U256,
    /// The requester's money.
    pub requester: Holdings,
    /// The worker's money.
    pub worker: Holdings,
    /// The verifier's money.
    pub verifier: Holdings,
}

impl Snapshot {
    /// Reads the snapshot through `view` (any client of `devnet`'s market): job `job_id`'s state and escrow (if
    /// it exists yet) and the roles' money.
    pub async fn read(
        devnet: &Devnet,
        view: &Market,
        job_id: Option<U256>,
    ) -> Result<Self, ContractError> {
        let (job_state, escrow) = match job_id {
            Some(id) => (Some(view.job(id).await?.state), view.escrow_of(id).await?),
            None => (None, U256::ZERO),
        };
        let holdings = async |role: Role| -> Result<Holdings, ContractError> {
            let address = devnet.address(role);
            Ok(Holdings {
                wallet: view.token_balance(address).await?,
                account: view.account_of(address).await?,
            })
        };
        Ok(Self {
            job_state,
            escrow,
            market_tokens: view.token_balance(view.address()).await?,
            requester: holdings(Role::Requester).await?,
            worker: holdings(Role::Worker).await?,
            verifier: holdings(Role::Verifier).await?,
        })
    }
}

/// One transaction of a scenario.
#[derive(Debug, Clone)]
pub struct Step {
    /// The contract function called.
    pub name: &'static str,
    /// Who sent it.
    pub actor: Role,
    /// Setup or per-job.
    pub phase: Phase,
    /// The receipt's gas used (includes the 21 000 intrinsic gas and calldata).
    pub gas_used: u64,
    /// Gas used less the intrinsic gas and the calldata cost.
    pub execution_gas: u64,
    /// The state after the step.
    pub after: Snapshot,
}

/// What [`honest_scenario`] did.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    /// The job it played.
    pub job_id: U256,
    /// The job's parameters.
    pub params: JobParams,
    /// Every transaction, in order.
    pub steps: Vec<Step>,
}

impl ScenarioReport {
    /// Total gas of the steps in `phase`.
    pub fn gas(&self, phase: Phase) -> u64 {
        self.steps
            .iter()
            .filter(|s| s.phase == phase)
            .map(|s| s.gas_used)
            .sum()
    }

    /// The state after the last step.
    pub fn last(&self) -> Option<&Snapshot> {
        self.steps.last().map(|s| &s.after)
    }
}

/// Records steps with a snapshot after each.
struct Recorder<'a> {
    devnet: &'a Devnet,
    view: Market,
    job_id: Option<U256>,
    steps: Vec<Step>,
}

impl Recorder<'_> {
    async fn record<T>(
        &mut self,
        name: &'static str,
        actor: Role,
        phase: Phase,
        tx: &Tx<T>,
    ) -> Result<(), ContractError> {
        let after = self.snapshot().await?;
        self.steps.push(Step {
            name,
            actor,
            phase,
            gas_used: tx.gas_used(),
            execution_gas: tx.execution_gas(),
            after,
        });
        Ok(())
    }

    async fn snapshot(&self) -> Result<Snapshot, ContractError> {
        Snapshot::read(self.devnet, &self.view, self.job_id).await
    }
}

/// Plays one honest job to payout with one verifier and s = 3 sampled intervals:
///
/// 1. setup: the requester approves the escrow; the worker approves and stakes its bond; the
///    verifier approves and stakes the minimum verifier stake and joins the pool;
/// 2. the requester creates the job ([`Devnet::job_params`]); the worker claims it, trains a
///    [`FakeTrace`] and submits the root; `audit_delay` blocks later it starts the audit and
///    reveals the sampled start checkpoints in one transaction;
/// 3. the verifier rebuilds the audit from the events, re-runs the three intervals from the
///    revealed start states and attests all three in one call;
/// 4. after the challenge window the worker finalizes, then worker and verifier withdraw.
///
/// The devnet's verifier pool must be empty of other members (a fresh devnet), so that the
/// verifier is drawn for every interval.
pub async fn honest_scenario(devnet: &Devnet) -> Result<ScenarioReport, ContractError> {
    let requester = devnet.client(Role::Requester).await?;
    let worker = devnet.client(Role::Worker).await?;
    let verifier = devnet.client(Role::Verifier).await?;
    let mut rec = Recorder {
        devnet,
        view: devnet.client(Role::Deployer).await?,
        job_id: None,
        steps: Vec::new(),
    };
    let params = devnet.job_params("honest").await?;
    let config = devnet.config().clone();
    use Phase::{Lifecycle, Setup};

    // Setup.
    for tx in requester.approve(params.escrow()).await? {
        rec.record("approve", Role::Requester, Setup, &tx).await?;
    }
    for tx in worker.approve(params.worker_bond).await? {
        rec.record("approve", Role::Worker, Setup, &tx).await?;
    }
    let tx = worker.stake(params.worker_bond).await?;
    rec.record("stake", Role::Worker, Setup, &tx).await?;
    for tx in verifier.approve(config.min_verifier_stake).await? {
        rec.record("approve", Role::Verifier, Setup, &tx).await?;
    }
    let tx = verifier.stake(config.min_verifier_stake).await?;
    rec.record("stake", Role::Verifier, Setup, &tx).await?;
    let tx = verifier.join_verifier_pool().await?;
    rec.record("joinVerifierPool", Role::Verifier, Setup, &tx)
        .await?;

    // The job.
    let tx = requester.create_job(&params).await?;
    let job_id = tx.outcome;
    rec.job_id = Some(job_id);
    rec.record("createJob", Role::Requester, Lifecycle, &tx)
        .await?;

    let tx = worker.claim_job(job_id).await?;
    rec.record("claimJob", Role::Worker, Lifecycle, &tx).await?;

    let n = params.num_intervals();
    let trace = FakeTrace::honest(job_id, n, params.checkpoint_interval, 7)?;
    let tx = worker
        .submit_result(job_id, trace.root(), trace.adapter_hash)
        .await?;
    let result = tx.outcome;
    rec.record("submitResult", Role::Worker, Lifecycle, &tx)
        .await?;

    devnet.mine(config.audit_delay).await?;
    let seed = worker.audit_seed(&result).await?;
    let intervals = worker
        .sample_intervals(seed, n, params.sample_count)
        .await?;
    let (starts, proofs) = reveal_args(&trace.commitment, &trace.state_hashes, &intervals)?;
    let tx = worker
        .start_audit_and_reveal(job_id, &result, starts, proofs)
        .await?;
    rec.record("startAuditAndReveal", Role::Worker, Lifecycle, &tx)
        .await?;

    // The verifier works from public data: the audit from the events, the start states the
    // worker revealed, and the proof siblings the worker serves.
    let audit = verifier.audit_of(job_id).await?;
    let sampled = verifier.audit_intervals(job_id, &audit).await?;
    let starts = verifier.revealed_checkpoints(job_id).await?;
    let a = trace.attestation(job_id, &audit, &sampled, &starts, verifier.sender())?;
    let tx = verifier
        .attest(job_id, &audit, &a.indexes, a.ends, a.proofs)
        .await?;
    rec.record("attest", Role::Verifier, Lifecycle, &tx).await?;

    devnet
        .advance_time(u64::from(config.challenge_window) + 1)
        .await?;
    let tx = worker.finalize(job_id, &audit).await?;
    rec.record("finalize", Role::Worker, Lifecycle, &tx).await?;

    let tx = worker.withdraw(worker.sender()).await?;
    rec.record("withdraw", Role::Worker, Lifecycle, &tx).await?;
    let tx = verifier.withdraw(verifier.sender()).await?;
    rec.record("withdraw", Role::Verifier, Lifecycle, &tx)
        .await?;

    Ok(ScenarioReport {
        job_id,
        params,
        steps: rec.steps,
    })
}
