//! Gas of one honest job, measured on anvil: `cargo bench -p tern-contracts --bench gas`.
//!
//! Plays [`honest_scenario`] (s = 3 sampled intervals, one verifier that attests all three
//! in one call) and prints every transaction's `gasUsed` from its receipt, which includes
//! the 21 000 intrinsic gas and the calldata cost, beside the execution gas without them.
//! One-time setup (approve, stake, joinVerifierPool) is totalled apart from the per-job
//! lifecycle, which is checked against the targets: at most 600 000 gas (must), 300 000 (aim).
//!
//! Sampled intervals and the drawn verifier depend on block hashes, so proof lengths and
//! the totals move by a few hundred gas between runs.

use tern_contracts::devnet::{Devnet, Phase, ScenarioReport, Step, honest_scenario};

/// Lifecycle gas the protocol must stay under.
const MUST: u64 = 600_000;
/// Lifecycle gas the protocol aims for.
const AIM: u64 = 300_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let report = runtime.block_on(async {
        let devnet = Devnet::spawn().await?;
        honest_scenario(&devnet).await
    });
    match report {
        Ok(report) => print_report(&report),
        Err(e) => {
            eprintln!("gas benchmark failed: {e}");
            std::process::exit(1);
        }
    }
}

fn print_report(report: &ScenarioReport) {
    println!(
        "Tern gas: one honest job, s = {} sampled intervals, one verifier (anvil, prague)\n",
        report.params.sample_count
    );
    println!(
        "{:<10} {:<10} {:<22} {:>10} {:>10}",
        "phase", "actor", "call", "gasUsed", "execution"
    );
    let rule = "-".repeat(66);
    println!("{rule}");
    for phase in [Phase::Setup, Phase::Lifecycle] {
        let steps: Vec<&Step> = report.steps.iter().filter(|s| s.phase == phase).collect();
        for s in &steps {
            println!(
                "{:<10} {:<10} {:<22} {:>10} {:>10}",
                phase_name(phase),
                s.actor.to_string(),
                s.name,
                thousands(s.gas_used),
                thousands(s.execution_gas)
            );
        }
        let gas: u64 = steps.iter().map(|s| s.gas_used).sum();
        let exec: u64 = steps.iter().map(|s| s.execution_gas).sum();
        println!(
            "{:<44} {:>10} {:>10}",
            format!("{} total ({} txs)", phase_label(phase), steps.len()),
            thousands(gas),
            thousands(exec)
        );
        println!("{rule}");
    }
    let lifecycle = report.gas(Phase::Lifecycle);
    let payouts: u64 = report
        .steps
        .iter()
        .filter(|s| s.phase == Phase::Lifecycle && s.name == "withdraw")
        .map(|s| s.gas_used)
        .sum();
    println!(
        "per-job lifecycle: {} gas ({} without the two withdrawals)",
        thousands(lifecycle),
        thousands(lifecycle - payouts)
    );
    println!(
        "  must <= {}: {}    aim <= {}: {}",
        thousands(MUST),
        verdict(lifecycle <= MUST),
        thousands(AIM),
        verdict(lifecycle <= AIM)
    );
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Setup => "setup",
        Phase::Lifecycle => "job",
    }
}

fn phase_label(phase: Phase) -> &'static str {
    match phase {
        Phase::Setup => "one-time setup",
        Phase::Lifecycle => "per-job lifecycle",
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
