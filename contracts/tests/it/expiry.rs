//! Deadlines: a worker that never reveals is slashed, an unclaimed job expires, an open job
//! can be cancelled. Each refunds the requester.

use alloy::primitives::U256;
use tern_contracts::devnet::{Devnet, DevnetOptions, FakeTrace, Role};
use tern_contracts::{AuditStart, ContractError, JobState, MarketRevert};

use crate::common::{ALL_ROLES, assert_solvent, claim_and_submit, create, staked};

#[tokio::test]
async fn worker_that_never_reveals_is_slashed() {
    let devnet = Devnet::spawn().await.unwrap();
    let config = devnet.config().clone();
    let params = devnet.job_params("no reveal").await.unwrap();
    let requester = devnet.client(Role::Requester).await.unwrap();
    let anyone = devnet.client(Role::Deployer).await.unwrap();
    let worker = staked(&devnet, Role::Worker, params.worker_bond, false).await;
    let verifier = staked(&devnet, Role::Verifier, config.min_verifier_stake, true).await;

    let job_id = create(&requester, &params).await;
    let trace = FakeTrace::honest(
        job_id,
        params.num_intervals(),
        params.checkpoint_interval,
        3,
    )
    .unwrap();
    let result = claim_and_submit(&devnet, &worker, job_id, &trace).await;
    assert_eq!(anyone.result_of(job_id).await.unwrap(), result);
    assert_eq!(
        anyone.job(job_id).await.unwrap().commitment,
        result.commitment()
    );

    // Anyone starts the audit; the worker then goes silent.
    let AuditStart::Started(audit) = anyone.start_audit(job_id, &result).await.unwrap().outcome
    else {
        panic!("the anchor is recent: the audit starts");
    };
    assert_eq!(audit.verifiers, vec![verifier.sender(); 3]);
    assert_eq!(anyone.audit_of(job_id).await.unwrap(), audit);
    assert!(matches!(
        anyone.revealed_checkpoints(job_id).await,
        Err(ContractError::EventMissing {
            event: "CheckpointsRevealed",
            ..
        })
    ));

    // Too early to expire, and the verifier cannot attest an unrevealed audit.
    let err = anyone.expire_job(job_id).await.unwrap_err();
    assert!(
        matches!(
            err,
            ContractError::Market(MarketRevert::DeadlineNotReached(_))
        ),
        "{err}"
    );
    let err = verifier
        .attest(
            job_id,
            &audit,
            &[0],
            vec![trace.state_hashes[1]],
            vec![vec![]],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ContractError::Market(MarketRevert::NotRevealed(_))),
        "{err}"
    );

    devnet
        .advance_time(u64::from(config.reveal_window) + 1)
        .await
        .unwrap();
    let state = anyone.expire_job(job_id).await.unwrap().outcome;
    assert_eq!(state, JobState::Slashed);

    // The requester gets the escrow back plus the worker's bond; the verifier nothing.
    let r = anyone.account_of(requester.sender()).await.unwrap();
    assert_eq!(r.balance, params.escrow() + params.worker_bond);
    let w = anyone.account_of(worker.sender()).await.unwrap();
    assert_eq!((w.stake, w.locked), (U256::ZERO, U256::ZERO));
    let v = anyone.account_of(verifier.sender()).await.unwrap();
    assert_eq!(
        (v.stake, v.balance),
        (config.min_verifier_stake, U256::ZERO)
    );
    assert_solvent(&devnet, &anyone, &ALL_ROLES, &[job_id]).await;
}

#[tokio::test]
async fn unclaimed_job_expires_and_is_refunded() {
    let devnet = Devnet::spawn().await.unwrap();
    let fund = DevnetOptions::default().fund;
    let mut params = devnet.job_params("unclaimed").await.unwrap();
    params.open_until = devnet.timestamp().await.unwrap() + 100;
    let requester = devnet.client(Role::Requester).await.unwrap();
    let anyone = devnet.client(Role::Deployer).await.unwrap();
    let worker = staked(&devnet, Role::Worker, params.worker_bond, false).await;

    let job_id = create(&requester, &params).await;
    assert_eq!(anyone.escrow_of(job_id).await.unwrap(), params.escrow());
    let err = anyone.expire_job(job_id).await.unwrap_err();
    assert!(
        matches!(
            err,
            ContractError::Market(MarketRevert::DeadlineNotReached(_))
        ),
        "{err}"
    );

    devnet.advance_time(101).await.unwrap();
    // Too late to claim.
    let err = worker.claim_job(job_id).await.unwrap_err();
    assert!(
        matches!(err, ContractError::Market(MarketRevert::DeadlinePassed(_))),
        "{err}"
    );
    assert_eq!(
        anyone.expire_job(job_id).await.unwrap().outcome,
        JobState::Expired
    );
    assert_eq!(anyone.escrow_of(job_id).await.unwrap(), U256::ZERO);
    assert_solvent(&devnet, &anyone, &ALL_ROLES, &[job_id]).await;

    let refund = requester
        .withdraw(requester.sender())
        .await
        .unwrap()
        .outcome;
    assert_eq!(refund, params.escrow());
    assert_eq!(
        requester.token_balance(requester.sender()).await.unwrap(),
        fund
    );
}

#[tokio::test]
async fn open_job_can_be_cancelled_by_its_requester_only() {
    let devnet = Devnet::spawn().await.unwrap();
    let params = devnet.job_params("cancel").await.unwrap();
    let requester = devnet.client(Role::Requester).await.unwrap();
    let other = devnet.client(Role::Worker).await.unwrap();
    let job_id = create(&requester, &params).await;

    let err = other.cancel_job(job_id).await.unwrap_err();
    assert!(
        matches!(err, ContractError::Market(MarketRevert::NotRequester(_))),
        "{err}"
    );
    requester.cancel_job(job_id).await.unwrap();
    assert_eq!(
        requester.job(job_id).await.unwrap().state,
        JobState::Refunded
    );
    let r = requester.account_of(requester.sender()).await.unwrap();
    assert_eq!(r.balance, params.escrow());
}

/// An audit nobody opened within 256 blocks of its anchor: with verifiers in the pool the
/// worker fails it; with an empty pool the audit moves to a later anchor.
#[tokio::test]
async fn aged_out_anchor_slashes_or_reanchors() {
    let devnet = Devnet::spawn().await.unwrap();
    let params = devnet.job_params("aged anchor").await.unwrap();
    let requester = devnet.client(Role::Requester).await.unwrap();
    let anyone = devnet.client(Role::Deployer).await.unwrap();
    let worker = staked(
        &devnet,
        Role::Worker,
        params.worker_bond * U256::from(2),
        false,
    )
    .await;
    let n = params.num_intervals();
    let k = params.checkpoint_interval;

    // Empty pool: re-anchored, and the result rebuilt from the events follows.
    let job_id = create(&requester, &params).await;
    let trace = FakeTrace::honest(job_id, n, k, 1).unwrap();
    let result = claim_and_submit(&devnet, &worker, job_id, &trace).await;
    devnet.mine(300).await.unwrap();
    let AuditStart::Reanchored(moved) = anyone.start_audit(job_id, &result).await.unwrap().outcome
    else {
        panic!("an empty pool re-anchors");
    };
    assert!(moved.anchor_block > result.anchor_block);
    assert_eq!(anyone.result_of(job_id).await.unwrap(), moved);
    assert_eq!(
        anyone.job(job_id).await.unwrap().commitment,
        moved.commitment()
    );

    // With a verifier in the pool, the worker that let the anchor age out is slashed, and
    // it cannot open the audit itself any more.
    staked(
        &devnet,
        Role::Verifier,
        devnet.config().min_verifier_stake,
        true,
    )
    .await;
    let second = create(&requester, &params).await;
    let trace = FakeTrace::honest(second, n, k, 2).unwrap();
    let result = claim_and_submit(&devnet, &worker, second, &trace).await;
    devnet.mine(300).await.unwrap();
    let err = worker
        .start_audit_and_reveal(second, &result, vec![], vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(err, ContractError::Market(MarketRevert::AnchorExpired(_))),
        "{err}"
    );
    let outcome = anyone.start_audit(second, &result).await.unwrap().outcome;
    assert_eq!(outcome, AuditStart::WorkerSlashed);
    assert_eq!(anyone.job(second).await.unwrap().state, JobState::Slashed);
    let r = anyone.account_of(requester.sender()).await.unwrap();
    assert_eq!(r.balance, params.escrow() + params.worker_bond);
    assert_solvent(&devnet, &anyone, &ALL_ROLES, &[job_id, second]).await;
}
