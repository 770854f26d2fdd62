//! Staking: pool membership, unbonding and withdrawal of unbonded stake.

use alloy::primitives::U256;
use tern_contracts::devnet::{Devnet, DevnetOptions, Role};
use tern_contracts::{ContractError, MarketRevert};

use crate::common::staked;

#[tokio::test]
async fn stake_pool_unbond_withdraw() {
    let devnet = Devnet::spawn().await.unwrap();
    let config = devnet.config().clone();
    let fund = DevnetOptions::default().fund;
    let amount = config.min_verifier_stake;
    let v = staked(&devnet, Role::Verifier, amount, true).await;
    assert_eq!(v.pool_members().await.unwrap(), vec![v.sender()]);
    let err = v.join_verifier_pool().await.unwrap_err();
    assert!(
        matches!(err, ContractError::Market(MarketRevert::AlreadyInPool(_))),
        "{err}"
    );
    v.leave_verifier_pool().await.unwrap();
    let err = v.leave_verifier_pool().await.unwrap_err();
    assert!(
        matches!(err, ContractError::Market(MarketRevert::NotInPool(_))),
        "{err}"
    );

    // A second approve of a different amount goes through USDT's reset-to-zero rule.
    v.approve(U256::from(1)).await.unwrap();
    let txs = v.approve(U256::from(5)).await.unwrap();
    assert_eq!(txs.len(), 2, "reset to zero, then approve");
    assert!(
        v.approve(U256::from(5)).await.unwrap().is_empty(),
        "already enough"
    );

    let release = v.request_unstake(amount).await.unwrap().outcome;
    let now = devnet.timestamp().await.unwrap();
    assert_eq!(release, now + u64::from(config.unbonding_delay));
    let u = v.unbonding_of(v.sender()).await.unwrap();
    assert_eq!((u.amount, u.release_at), (amount, release));
    let err = v.withdraw_unstaked(v.sender()).await.unwrap_err();
    assert!(
        matches!(err, ContractError::Market(MarketRevert::StillUnbonding(_))),
        "{err}"
    );

    devnet
        .advance_time(u64::from(config.unbonding_delay))
        .await
        .unwrap();
    let out = v.withdraw_unstaked(v.sender()).await.unwrap().outcome;
    assert_eq!(out, amount);
    assert_eq!(v.token_balance(v.sender()).await.unwrap(), fund);
    let err = v.withdraw(v.sender()).await.unwrap_err();
    assert!(
        matches!(
            err,
            ContractError::Market(MarketRevert::NothingToWithdraw(_))
        ),
        "{err}"
    );
}
