//! Shared setup: staked actors, jobs in a given state, the solvency check.

use alloy::primitives::U256;
use tern_contracts::devnet::{Devnet, FakeTrace, Role};
use tern_contracts::{JobParams, JobResult, Market};

/// A client for `role` that staked `amount` (approving first) and, if `verifier`, joined the pool.
pub async fn staked(devnet: &Devnet, role: Role, amount: U256, verifier: bool) -> Market {
    let client = devnet.client(role).await.unwrap();
    client.approve(amount).await.unwrap();
    client.stake(amount).await.unwrap();
    if verifier {
        client.join_verifier_pool().await.unwrap();
    }
    client
}

/// Approves the escrow and creates the job; returns its id.
pub async fn create(requester: &Market, params: &JobParams) -> U256 {
    requester.approve(params.escrow()).await.unwrap();
    requester.create_job(params).await.unwrap().outcome
}

/// Claims the job, commits `trace` and mines until the audit seed is ready.
pub async fn claim_and_submit(
    devnet: &Devnet,
    worker: &Market,
    job_id: U256,
    trace: &FakeTrace,
) -> JobResult {
    worker.claim_job(job_id).await.unwrap();
    let result = worker
        .submit_result(job_id, trace.root(), trace.adapter_hash)
        .await
        .unwrap()
        .outcome;
    devnet.mine(devnet.config().audit_delay).await.unwrap();
    result
}

/// The market holds exactly what it owes: every stake, unbonding stake and withdrawable
/// balance of `roles`, plus the escrow of `jobs`.
pub async fn assert_solvent(devnet: &Devnet, view: &Market, roles: &[Role], jobs: &[U256]) {
    let mut owed = U256::ZERO;
    for &role in roles {
        let address = devnet.address(role);
        let account = view.account_of(address).await.unwrap();
        owed += account.stake + account.balance + view.unbonding_of(address).await.unwrap().amount;
    }
    for &job in jobs {
        owed += view.escrow_of(job).await.unwrap();
    }
    let held = view.token_balance(view.address()).await.unwrap();
    assert_eq!(held, owed, "market token balance vs. what it owes");
}

/// Every named role a test may use.
pub const ALL_ROLES: [Role; 10] = [
    Role::Deployer,
    Role::Requester,
    Role::Worker,
    Role::Verifier,
    Role::Extra(0),
    Role::Extra(1),
    Role::Extra(2),
    Role::Extra(3),
    Role::Extra(4),
    Role::Extra(5),
];
