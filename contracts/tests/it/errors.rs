//! Reverts come back decoded, with readable messages.

use alloy::primitives::U256;
use tern_contracts::devnet::{Devnet, Role};
use tern_contracts::{ContractError, JobState, MarketRevert, TokenRevert};

use crate::common::{create, staked};

#[tokio::test]
async fn reverts_are_decoded() {
    let devnet = Devnet::spawn().await.unwrap();
    let params = devnet.job_params("errors").await.unwrap();
    let requester = devnet.client(Role::Requester).await.unwrap();

    // Without an allowance, USDT's own error bubbles up through SafeERC20.
    let err = requester.create_job(&params).await.unwrap_err();
    assert!(
        matches!(
            err,
            ContractError::Token(TokenRevert::InsufficientAllowance(_))
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("token reverted: InsufficientAllowance {"),
        "{err}"
    );

    // Invalid parameters.
    let mut bad = params.clone();
    bad.sample_count = 4; // needs 2 * 4 - 1 = 7 intervals, the job has 6
    requester.approve(bad.escrow()).await.unwrap();
    let err = requester.create_job(&bad).await.unwrap_err();
    assert!(
        matches!(err, ContractError::Market(MarketRevert::BadSampleCount(_))),
        "{err}"
    );

    // Claiming twice.
    let job_id = create(&requester, &params).await;
    let worker = staked(
        &devnet,
        Role::Worker,
        params.worker_bond * U256::from(2),
        false,
    )
    .await;
    worker.claim_job(job_id).await.unwrap();
    let err = worker.claim_job(job_id).await.unwrap_err();
    match err.market_revert() {
        Some(MarketRevert::WrongState(e)) => {
            assert_eq!(e.jobId, job_id);
            assert_eq!(e.actual, JobState::Claimed as u8);
            assert_eq!(e.expected, JobState::Open as u8);
        }
        _ => panic!("expected WrongState, got {err}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "market reverted: WrongState {{ jobId: {job_id:#x}, actual: Claimed, expected: Open }}"
        )
    );

    // A worker without enough free stake.
    let other = devnet.client(Role::Extra(0)).await.unwrap();
    let second = create(&requester, &params).await;
    let err = other.claim_job(second).await.unwrap_err();
    assert!(
        matches!(
            err,
            ContractError::Market(MarketRevert::InsufficientFreeStake(_))
        ),
        "{err}"
    );

    // Submitting as someone else; an empty result.
    let err = other
        .submit_result(
            job_id,
            alloy::primitives::B256::repeat_byte(1),
            alloy::primitives::B256::repeat_byte(2),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ContractError::Market(MarketRevert::NotWorker(_))),
        "{err}"
    );
    let err = worker
        .submit_result(
            job_id,
            alloy::primitives::B256::ZERO,
            alloy::primitives::B256::ZERO,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ContractError::Market(MarketRevert::EmptyResult(_))),
        "{err}"
    );

    // Unknown jobs, on chain and in the client's own lookups.
    let unknown = U256::from(12345);
    let err = worker.claim_job(unknown).await.unwrap_err();
    assert!(
        matches!(err, ContractError::Market(MarketRevert::JobNotFound(_))),
        "{err}"
    );
    assert!(
        matches!(worker.job(unknown).await, Err(ContractError::JobNotFound(id)) if id == unknown)
    );
    assert!(matches!(
        worker.result_of(unknown).await,
        Err(ContractError::JobNotFound(_))
    ));
    // A job that exists but has no result yet.
    assert!(matches!(
        worker.result_of(second).await,
        Err(ContractError::EventMissing {
            event: "ResultSubmitted",
            ..
        })
    ));
}
