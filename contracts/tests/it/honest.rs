//! An honest job to payout, through the shared scenario.

use alloy::primitives::U256;
use tern_contracts::JobState;
use tern_contracts::devnet::{Devnet, DevnetOptions, Phase, Role, honest_scenario};

use crate::common::{ALL_ROLES, assert_solvent};

#[tokio::test]
async fn honest_lifecycle_pays_worker_and_verifier() {
    let devnet = Devnet::spawn().await.unwrap();
    let report = honest_scenario(&devnet).await.unwrap();
    let p = &report.params;
    let fund = DevnetOptions::default().fund;
    let min_stake = devnet.config().min_verifier_stake;
    let fees = p.verifier_fee * U256::from(p.sample_count);

    // The lifecycle in order, with the state after each step.
    let lifecycle: Vec<(&str, Option<JobState>)> = report
        .steps
        .iter()
        .filter(|s| s.phase == Phase::Lifecycle)
        .map(|s| (s.name, s.after.job_state))
        .collect();
    assert_eq!(
        lifecycle,
        [
            ("createJob", Some(JobState::Open)),
            ("claimJob", Some(JobState::Claimed)),
            ("submitResult", Some(JobState::Submitted)),
            ("startAuditAndReveal", Some(JobState::Auditing)),
            ("attest", Some(JobState::Verified)),
            ("finalize", Some(JobState::Finalized)),
            ("withdraw", Some(JobState::Finalized)),
            ("withdraw", Some(JobState::Finalized)),
        ]
    );

    // After every step the market holds exactly the stakes, balances and escrow.
    for step in &report.steps {
        let a = &step.after;
        let owed = [a.requester, a.worker, a.verifier]
            .iter()
            .map(|h| h.account.stake + h.account.balance)
            .fold(a.escrow, |sum, x| sum + x);
        assert_eq!(
            a.market_tokens, owed,
            "after {} by {}",
            step.name, step.actor
        );
        assert!(step.gas_used > 21_000 && step.execution_gas < step.gas_used);
    }

    let end = report.last().unwrap();
    // The worker got the reward, and its bond is free again.
    assert_eq!(end.worker.wallet, fund - p.worker_bond + p.reward);
    assert_eq!(end.worker.account.stake, p.worker_bond);
    assert_eq!(end.worker.account.locked, U256::ZERO);
    assert_eq!(end.worker.account.balance, U256::ZERO);
    // The verifier got the three fees.
    assert_eq!(end.verifier.wallet, fund - min_stake + fees);
    assert_eq!(end.verifier.account.stake, min_stake);
    // The requester paid the escrow and got nothing back.
    assert_eq!(end.requester.wallet, fund - p.escrow());
    assert_eq!(end.requester.account.balance, U256::ZERO);
    assert_eq!(end.escrow, U256::ZERO);
    assert_eq!(end.market_tokens, p.worker_bond + min_stake);

    let view = devnet.client(Role::Deployer).await.unwrap();
    assert_solvent(&devnet, &view, &ALL_ROLES, &[report.job_id]).await;

    // The calldata structs rebuilt from the events hash to the job's commitment.
    let audit = view.audit_of(report.job_id).await.unwrap();
    let job = view.job(report.job_id).await.unwrap();
    assert_eq!(job.commitment, audit.commitment());
    assert_eq!(audit.verifiers, vec![devnet.address(Role::Verifier); 3]);
    let result = view.result_of(report.job_id).await.unwrap();
    assert_eq!(result.trace_root, audit.trace_root);
    assert_eq!(result.adapter_hash, audit.adapter_hash);
}
