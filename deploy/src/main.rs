//! `tern-devnet`: a whole local Tern network on one machine.
//!
//! It starts anvil, deploys the USDT mock (mainnet USDT's quirks) and the market, starts the marketplace service in
//! this process (indexing the market, settling with the Deployer's key, serving its web page), and plays one honest
//! job through it from posting to payout, printing the job's state on chain and in the marketplace's API,
//! everyone's money and the gas of each transaction. The worker's training is simulated for now; the worker agent
//! and the verifier join the same network as they arrive.

mod api;
mod demo;
mod market;

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;
use tern_contracts::devnet::{Devnet, Role};

use crate::market::Marketplace;

/// Start a local Tern network (chain, contracts, marketplace) and play an honest job through it to payout.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Keep the chain and the marketplace running after the demo (until Ctrl-C), to look at the job in the
    /// browser or inspect the chain with `cast`.
    #[arg(long)]
    keep_running: bool,
    /// Address the marketplace listens on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The service's own warnings and errors (RUST_LOG to see more); the demo's output is on stdout. alloy's
    // block pollers are quiet: the devnet's provider keeps polling until it is dropped, just after anvil stops,
    // and failures that matter surface through the calls that hit them.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,alloy_rpc_client::poller=off")
            }),
        )
        .with_writer(std::io::stderr)
        .init();

    // The port first: a taken one fails before anything starts.
    let listen = market::resolve_port(args.listen)?;
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
    println!(
        "{:<12} {} (plays the marketplace: its keeper and settlement sender)",
        Role::Deployer.to_string(),
        devnet.address(Role::Deployer)
    );
    for role in [Role::Requester, Role::Worker, Role::Verifier] {
        println!("{:<12} {}", role.to_string(), devnet.address(role));
    }

    let market = Marketplace::start(&devnet, listen).await?;
    println!("marketplace  {}/", market.url());
    println!(
        "data         {} (its SQLite database and blobs; removed on exit, the chain ends with this process)",
        market.data_dir().display()
    );
    println!();

    // Ctrl-C during the demo still stops the service and removes its directory.
    let played = tokio::select! {
        played = demo::play(&devnet, &market) => played.context("the demo job did not complete"),
        interrupted = tokio::signal::ctrl_c() => {
            interrupted.context("waiting for Ctrl-C")?;
            Err(anyhow::anyhow!("interrupted"))
        }
    };
    let outcome = match played {
        Ok(outcome) => outcome,
        Err(err) => {
            if let Err(stop_err) = market.shutdown().await {
                eprintln!("also: {stop_err:#}");
            }
            return Err(err);
        }
    };

    if args.keep_running {
        println!("\nthe network keeps running:");
        println!("  job board    {}/", market.url());
        println!("  the job      {}", outcome.job_page);
        println!(
            "  job (JSON)   {}/v1/jobs/{}",
            market.url(),
            api::job_hex(outcome.job_id)
        );
        println!(
            "  chain        {} (cast, wallets: chain id {})",
            devnet.endpoint(),
            devnet.chain_id()
        );
        // A line tests and scripts wait for.
        println!("ready; Ctrl-C to stop");
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        println!("stopping");
    }
    // The service stops before the chain it reads goes away.
    market.shutdown().await?;
    drop(devnet);
    Ok(())
}
