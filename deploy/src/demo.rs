//! The demo job, played through the marketplace: the requester signs in, uploads the blobs, posts the spec and
//! sends the transactions the service answers with; the worker claims the job on chain and reports (simulated)
//! progress to the service; the verifier attests on chain; the service's keeper finalizes; both withdraw.
//! Each step prints the job's state on chain and as the marketplace's API reports it, everyone's money and gas.

use std::time::Duration;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use anyhow::{Context, bail};
use serde_json::{Value, json};
use tern_contracts::bindings::TernMarket;
use tern_contracts::devnet::{Devnet, FakeTrace, Holdings, Phase, Role, Snapshot};
use tern_contracts::{JobParams, Market, reveal_args};

use crate::api::{Api, job_hex};
use crate::market::Marketplace;

/// The longest the demo waits for the marketplace to index a transaction.
const INDEX_LIMIT: Duration = Duration::from_secs(30);
/// The longest the demo waits for the keeper to finalize once the challenge window is over.
const KEEPER_LIMIT: Duration = Duration::from_secs(60);

/// The example job spec; the demo fills in its blobs, amounts and deadlines.
const EXAMPLE_SPEC: &str = include_str!("../../protocol/examples/job-spec.json");

/// Made-up bytes stand in for the base model and the dataset: blobs are content-addressed, so any bytes give a
/// valid id, and nothing trains on them yet (the worker agent comes later).
const BASE_MODEL: &[u8] = b"tern devnet demo: made-up base model bytes (not a model)\n";
const DATASET: &[u8] = b"tern devnet demo: made-up dataset bytes (not training data)\n";

/// A simulated training loss curve: what the worker reports at every checkpoint. Made up, decreasing.
fn simulated_loss(step: u32, total: u32) -> f64 {
    let progress = f64::from(step) / f64::from(total.max(1));
    1.9 + 1.4 * (-3.0 * progress).exp()
}

/// What the demo did, for the summary and the caller.
pub struct DemoOutcome {
    /// The job.
    pub job_id: U256,
    /// The job's page on the marketplace's web page.
    pub job_page: String,
}

/// One printed step.
struct Row {
    phase: Phase,
    gas_used: u64,
    after: Snapshot,
    name: &'static str,
    actor: Role,
}

/// Plays the job and prints each step.
struct Demo<'a> {
    devnet: &'a Devnet,
    api: Api,
    /// Reads balances and states; sends nothing.
    view: Market,
    job_id: Option<U256>,
    /// Gas of the `createJob` the requester sent (its row waits for the job's id).
    created_gas: u64,
    rows: Vec<Row>,
}

/// Plays one honest job through the marketplace at `market`, printing as it goes.
pub async fn play(devnet: &Devnet, market: &Marketplace) -> anyhow::Result<DemoOutcome> {
    let mut demo = Demo {
        devnet,
        api: Api::new(market.url()),
        view: devnet.client(Role::Deployer).await?,
        job_id: None,
        created_gas: 0,
        rows: Vec::new(),
    };
    let worker = devnet.client(Role::Worker).await?;
    let verifier = devnet.client(Role::Verifier).await?;
    let config = devnet.config().clone();
    // The devnet's small job: its amounts, step counts and near deadlines.
    let params = devnet.job_params("demo").await?;
    use Phase::{Lifecycle, Setup};

    print_header();
    // The verifier joins the pool first, so that the audit has someone to draw.
    for tx in verifier.approve(config.min_verifier_stake).await? {
        demo.row("approve", Role::Verifier, Setup, tx.gas_used())
            .await?;
    }
    let tx = verifier.stake(config.min_verifier_stake).await?;
    demo.row("stake", Role::Verifier, Setup, tx.gas_used())
        .await?;
    let tx = verifier.join_verifier_pool().await?;
    demo.row("joinVerifierPool", Role::Verifier, Setup, tx.gas_used())
        .await?;

    // The requester, through the marketplace: sign in, upload, post, send what the service answers.
    let job_id = demo.post_job(&params).await?;
    demo.job_id = Some(job_id);
    let job_page = market_page(market, job_id);
    println!("  job {}  page {job_page}", job_hex(job_id));
    demo.row("createJob", Role::Requester, Lifecycle, demo.created_gas)
        .await?;

    // The worker: bond, claim, (simulated) training with progress reports, trace, audit.
    for tx in worker.approve(params.worker_bond).await? {
        demo.row("approve", Role::Worker, Setup, tx.gas_used())
            .await?;
    }
    let tx = worker.stake(params.worker_bond).await?;
    demo.row("stake", Role::Worker, Setup, tx.gas_used())
        .await?;
    let tx = worker.claim_job(job_id).await?;
    demo.row("claimJob", Role::Worker, Lifecycle, tx.gas_used())
        .await?;
    let as_worker = demo
        .api
        .sign_in(&devnet.signer(Role::Worker)?)
        .await
        .context("the worker's sign-in")?;
    println!(
        "  worker signed in; SIMULATED training (the real worker agent comes later), progress reports:"
    );
    for step in (params.checkpoint_interval..=params.total_steps)
        .step_by(params.checkpoint_interval as usize)
    {
        let loss = simulated_loss(step, params.total_steps);
        as_worker.report_progress(job_id, step, loss, 150.0).await?;
        println!(
            "    step {step:>3}/{}  loss {loss:.3}  (simulated)",
            params.total_steps
        );
    }
    let n = params.num_intervals();
    let trace = FakeTrace::honest(job_id, n, params.checkpoint_interval, 7)?;
    let tx = worker
        .submit_result(job_id, trace.root(), trace.adapter_hash)
        .await?;
    let result = tx.outcome;
    demo.row("submitResult", Role::Worker, Lifecycle, tx.gas_used())
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
    demo.row(
        "startAuditAndReveal",
        Role::Worker,
        Lifecycle,
        tx.gas_used(),
    )
    .await?;

    // The verifier re-runs its sampled intervals of the fake trace from the revealed start states.
    let audit = verifier.audit_of(job_id).await?;
    let sampled = verifier.audit_intervals(job_id, &audit).await?;
    let starts = verifier.revealed_checkpoints(job_id).await?;
    let a = trace.attestation(job_id, &audit, &sampled, &starts, verifier.sender())?;
    let tx = verifier
        .attest(job_id, &audit, &a.indexes, a.ends, a.proofs)
        .await?;
    demo.row("attest", Role::Verifier, Lifecycle, tx.gas_used())
        .await?;

    // Nobody finalizes by hand: once the challenge window is over, the marketplace's keeper sends it.
    let wait = u64::from(config.challenge_window) + 1;
    devnet.advance_time(wait).await?;
    println!(
        "  anvil's clock moved {wait} s past the challenge window; waiting for the marketplace's keeper"
    );
    let detail = demo
        .api
        .wait_for_job(job_id, "the keeper's finalize", KEEPER_LIMIT, |j| {
            j.job.state == "finalized"
        })
        .await?;
    let finalize_tx: B256 = detail
        .events
        .iter()
        .find(|e| e.kind == "JobStateChanged" && e.data["state"] == "finalized")
        .context("the finalized job has no JobStateChanged(finalized) event")?
        .tx_hash
        .parse()
        .context("the finalize transaction's hash")?;
    let receipt = demo
        .view
        .provider()
        .get_transaction_receipt(finalize_tx)
        .await?
        .context("no receipt for the keeper's finalize")?;
    if receipt.from != devnet.address(Role::Deployer) {
        bail!(
            "finalize was sent by {:#x}, not by the marketplace's settlement sender (the Deployer)",
            receipt.from
        );
    }
    demo.row_by(
        "finalize",
        Role::Deployer,
        "keeper",
        Lifecycle,
        receipt.gas_used,
    )
    .await?;
    println!(
        "  finalize was sent by {:#x}: the marketplace's keeper, through its settlement sender",
        receipt.from
    );

    let tx = worker.withdraw(worker.sender()).await?;
    demo.row("withdraw", Role::Worker, Lifecycle, tx.gas_used())
        .await?;
    let tx = verifier.withdraw(verifier.sender()).await?;
    demo.row("withdraw", Role::Verifier, Lifecycle, tx.gas_used())
        .await?;

    demo.summary(job_id).await?;
    Ok(DemoOutcome { job_id, job_page })
}

impl Demo<'_> {
    /// The requester's part, through the marketplace: signs in, uploads the blobs, posts the spec built from
    /// `params`, sends the transactions the service answers with; returns the job's id once the service lists it.
    async fn post_job(&mut self, params: &JobParams) -> anyhow::Result<U256> {
        let requester_key = self.devnet.signer(Role::Requester)?;
        let as_requester = self
            .api
            .sign_in(&requester_key)
            .await
            .context("the requester's sign-in")?;
        println!("  requester signed in to the marketplace (Sign-In with Ethereum)");
        let base = as_requester.upload(BASE_MODEL).await?;
        let data = as_requester.upload(DATASET).await?;
        println!(
            "  requester uploaded a base model {base} ({} bytes, made up)",
            BASE_MODEL.len()
        );
        println!(
            "  requester uploaded a dataset    {data} ({} bytes, made up)",
            DATASET.len()
        );
        println!(
            "    (placeholders: blobs are content-addressed, any bytes make a valid id; nothing trains on them)"
        );
        let mut spec: Value = serde_json::from_str(EXAMPLE_SPEC).context("the example job spec")?;
        spec["base_model"]["id"] = json!(base.to_string());
        spec["dataset"]["id"] = json!(data.to_string());
        spec["training"]["steps"] = json!(params.total_steps);
        spec["verification"]["checkpoint_interval"] = json!(params.checkpoint_interval);
        spec["verification"]["sample_count"] = json!(params.sample_count);
        spec["price"]["reward"] = json!(params.reward.to_string());
        spec["price"]["verifier_fee"] = json!(params.verifier_fee.to_string());
        spec["price"]["worker_bond"] = json!(params.worker_bond.to_string());
        spec["deadlines"]["open_until"] = json!(params.open_until);
        spec["deadlines"]["train_duration"] = json!(params.train_duration);
        let posted = as_requester.post_job(&spec).await?;
        let spec_hash = posted["spec_hash"]
            .as_str()
            .context("the posted job has no spec_hash")?
            .to_string();
        let transactions = posted["transactions"]
            .as_array()
            .context("the posted job has no transactions")?;
        println!(
            "  requester posted the spec {spec_hash}: escrow {} USDT, {} transactions to send",
            usdt_str(posted["escrow"].as_str().unwrap_or("0")),
            transactions.len()
        );
        let wallet = ProviderBuilder::new()
            .wallet(requester_key)
            .connect_http(self.devnet.endpoint().parse().context("the chain's URL")?);
        let mut created_gas = None;
        for tx in transactions {
            let description = tx["description"].as_str().unwrap_or("");
            let to: Address = tx["to"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .context("a transaction without a valid `to`")?;
            let input: Bytes = tx["data"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .context("a transaction without valid `data`")?;
            let creates = input.starts_with(&TernMarket::createJobCall::SELECTOR);
            let receipt = wallet
                .send_transaction(TransactionRequest::default().with_to(to).with_input(input))
                .await
                .with_context(|| format!("sending {description:?}"))?
                .get_receipt()
                .await
                .with_context(|| format!("the receipt of {description:?}"))?;
            if !receipt.status() {
                bail!("the marketplace's transaction {description:?} reverted");
            }
            if creates {
                // Its row waits for the job id, which the marketplace tells below.
                created_gas = Some(receipt.gas_used);
            } else {
                self.row("approve", Role::Requester, Phase::Setup, receipt.gas_used)
                    .await?;
            }
        }
        self.created_gas = created_gas.context("the marketplace's transactions create no job")?;
        self.api
            .wait_for_posted(
                self.devnet.address(Role::Requester),
                &spec_hash,
                INDEX_LIMIT,
            )
            .await
    }

    /// Records and prints a step of `actor`.
    async fn row(
        &mut self,
        name: &'static str,
        actor: Role,
        phase: Phase,
        gas_used: u64,
    ) -> anyhow::Result<()> {
        self.row_by(name, actor, &actor.to_string(), phase, gas_used)
            .await
    }

    /// Records and prints a step, once the marketplace's view of the job caught up with the chain's.
    async fn row_by(
        &mut self,
        name: &'static str,
        actor: Role,
        by: &str,
        phase: Phase,
        gas_used: u64,
    ) -> anyhow::Result<()> {
        let after = self.snapshot().await?;
        let api_state = match (self.job_id, after.job_state) {
            (Some(id), Some(state)) => {
                let want = state.to_string().to_lowercase();
                let job = self
                    .api
                    .wait_for_job(id, &format!("indexing {name}"), INDEX_LIMIT, |j| {
                        j.job.state == want
                    })
                    .await?;
                job.job.state
            }
            _ => "-".to_string(),
        };
        let Snapshot {
            job_state,
            escrow,
            requester,
            worker,
            verifier,
            ..
        } = &after;
        println!(
            "{:<20} {:<10} {:>9}  {:<10} {:<10} {:>9}  {:>20}  {:>18}  {:>18}",
            name,
            by,
            gas_used,
            job_state.map_or("-".to_string(), |s| s.to_string().to_lowercase()),
            api_state,
            usdt(*escrow),
            pair(requester.wallet, requester.account.balance),
            staked(worker),
            staked(verifier),
        );
        self.rows.push(Row {
            phase,
            gas_used,
            after,
            name,
            actor,
        });
        Ok(())
    }

    async fn snapshot(&self) -> anyhow::Result<Snapshot> {
        Ok(Snapshot::read(self.devnet, &self.view, self.job_id).await?)
    }

    /// Gas totals, what each withdrew, and the accounts as the marketplace's indexer saw them.
    async fn summary(&self, job_id: U256) -> anyhow::Result<()> {
        let gas = |phase| -> u64 {
            self.rows
                .iter()
                .filter(|r| r.phase == phase)
                .map(|r| r.gas_used)
                .sum()
        };
        println!(
            "\ngas: one-time setup {}, job lifecycle {} (receipts, including 21000 per transaction)",
            gas(Phase::Setup),
            gas(Phase::Lifecycle)
        );
        for (role, holdings) in [
            (
                Role::Worker,
                (|s: &Snapshot| s.worker) as fn(&Snapshot) -> Holdings,
            ),
            (Role::Verifier, |s: &Snapshot| s.verifier),
        ] {
            let withdrawn = self.rows.windows(2).find_map(|w| {
                (w[1].name == "withdraw" && w[1].actor == role).then(|| {
                    holdings(&w[1].after)
                        .wallet
                        .saturating_sub(holdings(&w[0].after).wallet)
                })
            });
            if let Some(amount) = withdrawn {
                println!("{role} withdrew {} USDT", usdt(amount));
            }
        }
        if let Some(last) = self.rows.last() {
            println!(
                "the market still holds {} USDT: the stakes",
                usdt(last.after.market_tokens)
            );
        }
        let key = job_hex(job_id);
        for role in [Role::Worker, Role::Verifier] {
            // Once the indexer has seen the withdrawal too: what is left matches the chain.
            let address = self.devnet.address(role);
            let on_chain = self.view.account_of(address).await?.balance.to_string();
            let account = self
                .api
                .wait_for_account(self.devnet.address(role), INDEX_LIMIT, |a| {
                    a["withdrawable"] == on_chain.as_str()
                })
                .await?;
            let credited = account["credits_by_job"][&key].as_str().unwrap_or("0");
            println!(
                "marketplace view: {role} credited {} USDT for the job, {} USDT left to withdraw",
                usdt_str(credited),
                usdt_str(account["withdrawable"].as_str().unwrap_or("0"))
            );
        }
        Ok(())
    }
}

fn print_header() {
    println!(
        "{:<20} {:<10} {:>9}  {:<10} {:<10} {:>9}  {:>20}  {:>18}  {:>18}",
        "step",
        "by",
        "gas",
        "chain",
        "market API",
        "escrow",
        "requester wallet|bal",
        "worker stake|bal",
        "verifier stake|bal"
    );
}

/// The job's page on the marketplace's web page.
pub fn market_page(market: &Marketplace, job_id: U256) -> String {
    format!("{}/jobs/{}", market.url(), job_hex(job_id))
}

fn staked(h: &Holdings) -> String {
    pair(h.account.stake, h.account.balance)
}

fn pair(a: U256, b: U256) -> String {
    format!("{}|{}", usdt(a), usdt(b))
}

/// A decimal amount of USDT base units, in whole tokens.
fn usdt_str(amount: &str) -> String {
    amount
        .parse::<U256>()
        .map_or_else(|_| amount.to_string(), usdt)
}

/// USDT amounts in whole tokens (6 decimals).
fn usdt(amount: U256) -> String {
    let unit = U256::from(1_000_000u64);
    let whole = amount / unit;
    let frac: u64 = (amount % unit).to::<u64>();
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{frac:06}")
    }
}
