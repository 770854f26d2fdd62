//! Verifiers that do not attest are slashed and replaced; the rebuilt audit follows.

use alloy::primitives::U256;
use tern_contracts::devnet::{Devnet, FakeTrace, Role};
use tern_contracts::{JobState, reveal_args};

use crate::common::{ALL_ROLES, assert_solvent, claim_and_submit, create, staked};

#[tokio::test]
async fn absent_verifiers_are_replaced() {
    let devnet = Devnet::spawn().await.unwrap();
    let config = devnet.config().clone();
    let params = devnet.job_params("replace").await.unwrap();
    let requester = devnet.client(Role::Requester).await.unwrap();
    let anyone = devnet.client(Role::Deployer).await.unwrap();
    let worker = staked(&devnet, Role::Worker, params.worker_bond, false).await;
    let pool = [Role::Verifier, Role::Extra(0), Role::Extra(1)];
    for role in pool {
        staked(&devnet, role, config.min_verifier_stake, true).await;
    }

    let job_id = create(&requester, &params).await;
    let n = params.num_intervals();
    let trace = FakeTrace::honest(job_id, n, params.checkpoint_interval, 5).unwrap();
    let result = claim_and_submit(&devnet, &worker, job_id, &trace).await;
    let seed = worker.audit_seed(&result).await.unwrap();
    let intervals = worker
        .sample_intervals(seed, n, params.sample_count)
        .await
        .unwrap();
    let (starts, proofs) = reveal_args(&trace.commitment, &trace.state_hashes, &intervals).unwrap();
    let audit = worker
        .start_audit_and_reveal(job_id, &result, starts, proofs)
        .await
        .unwrap()
        .outcome;

    // Nobody attests. After the attest window every assigned verifier is slashed once per
    // interval it held, and someone else takes each interval.
    devnet
        .advance_time(u64::from(config.attest_window) + 1)
        .await
        .unwrap();
    let replaced = anyone
        .replace_verifiers(job_id, &audit)
        .await
        .unwrap()
        .outcome;
    for (before, after) in audit.verifiers.iter().zip(&replaced.verifiers) {
        assert_ne!(before, after);
    }
    assert_eq!(anyone.audit_of(job_id).await.unwrap(), replaced);
    let job = anyone.job(job_id).await.unwrap();
    assert_eq!(job.state, JobState::Auditing);
    assert_eq!(job.replacement_rounds, 1);
    assert_eq!(job.commitment, replaced.commitment());

    let mut slashed = U256::ZERO;
    for role in pool {
        let address = devnet.address(role);
        let held = audit.verifiers.iter().filter(|&&v| v == address).count();
        let stake = anyone.account_of(address).await.unwrap().stake;
        assert_eq!(
            stake,
            config.min_verifier_stake - config.verifier_penalty * U256::from(held)
        );
        slashed += config.verifier_penalty * U256::from(held);
    }
    let r = anyone.account_of(requester.sender()).await.unwrap();
    assert_eq!(r.balance, slashed);
    assert_solvent(&devnet, &anyone, &ALL_ROLES, &[job_id]).await;
}
