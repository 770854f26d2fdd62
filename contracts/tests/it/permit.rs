//! On a token with EIP-2612 (USDT0-like), jobs and stakes are funded by a permit, no approve.

use alloy::primitives::U256;
use tern_contracts::JobState;
use tern_contracts::devnet::{Devnet, DevnetOptions, Role, TestToken};

use crate::common::{ALL_ROLES, assert_solvent};

#[tokio::test]
async fn permit_funds_job_and_stake() {
    let devnet = Devnet::spawn_with(DevnetOptions {
        token: TestToken::PermitToken,
        ..DevnetOptions::default()
    })
    .await
    .unwrap();
    let params = devnet.job_params("permit").await.unwrap();
    let deadline = U256::from(devnet.timestamp().await.unwrap() + 600);
    let requester = devnet.client(Role::Requester).await.unwrap();
    let worker = devnet.client(Role::Worker).await.unwrap();

    let job_id = requester
        .create_job_with_permit(&params, deadline)
        .await
        .unwrap()
        .outcome;
    assert_eq!(requester.job(job_id).await.unwrap().state, JobState::Open);
    assert_eq!(requester.escrow_of(job_id).await.unwrap(), params.escrow());

    let staked = worker
        .stake_with_permit(params.worker_bond, deadline)
        .await
        .unwrap()
        .outcome;
    assert_eq!(staked, params.worker_bond);
    worker.claim_job(job_id).await.unwrap();
    assert_solvent(&devnet, &worker, &ALL_ROLES, &[job_id]).await;
}

#[tokio::test]
async fn usdt_has_no_permit() {
    let devnet = Devnet::spawn().await.unwrap();
    let params = devnet.job_params("no permit").await.unwrap();
    let requester = devnet.client(Role::Requester).await.unwrap();
    assert!(
        requester
            .sign_permit(params.escrow(), U256::MAX)
            .await
            .is_err()
    );
}
