//! `tern-devnet`: a whole local Tern network on one machine.
//!
//! For now it starts anvil, deploys the USDT mock (mainnet USDT's quirks) and the market, and plays one honest job
//! from posting to payout, printing the job's state, everyone's money and the gas of each transaction. Later parts
//! of Tern (marketplace, worker, verifier) join the same network as they arrive.

use alloy::primitives::U256;
use anyhow::Context;
use clap::Parser;
use tern_contracts::devnet::{
    Devnet, Holdings, Phase, Role, ScenarioReport, Snapshot, honest_scenario,
};

/// Start a local Tern network and play an honest job to payout.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Keep the chain running after the demo (until Ctrl-C), so you can inspect it with `cast`.
    #[arg(long)]
    keep_running: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let devnet = Devnet::spawn()
        .await
        .context("could not start the local chain: run deploy/toolchain.sh, or set TERN_ANVIL to an anvil binary")?;
    println!(
        "local chain  {} (chain id {})",
        devnet.endpoint(),
        devnet.chain_id()
    );
    println!("USDT mock    {}", devnet.token());
    println!("market       {}", devnet.market());
    for role in [Role::Requester, Role::Worker, Role::Verifier] {
        println!("{:<12} {}", role.to_string(), devnet.address(role));
    }
    println!();

    let report = honest_scenario(&devnet)
        .await
        .context("the honest job did not complete")?;
    print_report(&report);

    if args.keep_running {
        println!(
            "\nchain still running at {}; Ctrl-C to stop",
            devnet.endpoint()
        );
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
    }
    Ok(())
}

fn print_report(report: &ScenarioReport) {
    println!("job {:#x}", report.job_id);
    println!(
        "{:<20} {:<10} {:>9}  {:<10} {:>9}  {:>22}  {:>22}  {:>22}",
        "step",
        "by",
        "gas",
        "job",
        "escrow",
        "requester wallet|bal",
        "worker stake|bal",
        "verifier stake|bal"
    );
    for step in &report.steps {
        let Snapshot {
            job_state,
            escrow,
            requester,
            worker,
            verifier,
            ..
        } = &step.after;
        println!(
            "{:<20} {:<10} {:>9}  {:<10} {:>9}  {:>22}  {:>22}  {:>22}",
            step.name,
            step.actor.to_string(),
            step.gas_used,
            job_state.map_or("-".to_string(), |s| s.to_string()),
            usdt(*escrow),
            pair(requester.wallet, requester.account.balance),
            staked(worker),
            staked(verifier),
        );
    }
    let setup = report.gas(Phase::Setup);
    let lifecycle = report.gas(Phase::Lifecycle);
    println!(
        "\ngas: one-time setup {setup}, job lifecycle {lifecycle} (receipts, including 21000 per transaction)"
    );
    print_withdrawn(report, Role::Worker, |s| &s.worker);
    print_withdrawn(report, Role::Verifier, |s| &s.verifier);
    if let Some(last) = report.last() {
        println!(
            "the market still holds {} USDT: the stakes",
            usdt(last.market_tokens)
        );
    }
}

/// What `role` took out with its `withdraw`: its wallet before and after that step.
fn print_withdrawn(report: &ScenarioReport, role: Role, holdings: impl Fn(&Snapshot) -> &Holdings) {
    let withdrawn = report.steps.windows(2).find_map(|w| {
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

fn staked(h: &Holdings) -> String {
    pair(h.account.stake, h.account.balance)
}

fn pair(a: U256, b: U256) -> String {
    format!("{}|{}", usdt(a), usdt(b))
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
