//! The keeper and the settlement sender on the leader: jobs whose deadline passed with nobody moving them are
//! moved by the service's own transactions, each sent once.

use alloy::primitives::U256;
use alloy::providers::{Provider, ProviderBuilder};
use serde_json::Value;
use tern_contracts::devnet::{Devnet, Role, USDT};
use tern_marketplace::chain::sender::SenderKey;

use crate::chain_util::job_hex;
use crate::util::TestApp;

/// Polls the job until its state is `state`.
async fn wait_for_state(app: &TestApp, job_id: U256, state: &str) -> Value {
    let url = app.url(&format!("/v1/jobs/{}", job_hex(job_id)));
    let mut job = Value::Null;
    for _ in 0..300 {
        let response = app.anon.get(&url).send().await.unwrap();
        if response.status() == 200 {
            job = response.json().await.unwrap();
            if job["state"] == state {
                return job;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("job {job_id} never reached {state}: {job}");
}

#[tokio::test]
async fn stalled_jobs_are_expired_by_the_service_once() {
    let devnet = Devnet::spawn().await.unwrap();
    let service_key = devnet.signer(Role::Deployer).unwrap();
    let app = TestApp::with(|c| {
        c.rpc_url = Some(devnet.endpoint());
        c.market_address = Some(devnet.market());
        c.start_block = devnet.deploy_block();
        c.confirmations = 0;
        c.poll_interval_ms = 50;
        c.sender_key = Some(SenderKey::new(alloy::hex::encode(service_key.to_bytes())));
        c.sender.poll_interval_ms = 100;
    })
    .await;
    let provider = ProviderBuilder::new().connect_http(devnet.endpoint().parse().unwrap());
    let sent_before = provider
        .get_transaction_count(service_key.address())
        .await
        .unwrap();

    // Job A nobody claims before its claim deadline.
    let requester = devnet.client(Role::Requester).await.unwrap();
    let mut unclaimed = devnet.job_params("unclaimed").await.unwrap();
    unclaimed.open_until = devnet.timestamp().await.unwrap() + 60;
    // Job B is claimed and never submitted; it may still be claimed by someone else afterwards.
    let mut abandoned = devnet.job_params("abandoned").await.unwrap();
    abandoned.open_until = devnet.timestamp().await.unwrap() + 100_000;
    requester
        .approve(unclaimed.escrow() + abandoned.escrow())
        .await
        .unwrap();
    let a = requester.create_job(&unclaimed).await.unwrap().outcome;
    let b = requester.create_job(&abandoned).await.unwrap().outcome;
    let worker = devnet.client(Role::Worker).await.unwrap();
    worker.approve(abandoned.worker_bond).await.unwrap();
    worker.stake(abandoned.worker_bond).await.unwrap();
    worker.claim_job(b).await.unwrap();
    wait_for_state(&app, b, "claimed").await;

    // Time passes beyond both deadlines; nobody calls expireJob but the service.
    devnet
        .advance_time(u64::from(abandoned.train_duration) + 120)
        .await
        .unwrap();
    wait_for_state(&app, a, "expired").await;
    let reopened = wait_for_state(&app, b, "open").await;
    assert!(reopened["worker"].is_null(), "{reopened}");
    assert_eq!(
        requester.job(a).await.unwrap().state,
        tern_contracts::JobState::Expired
    );

    // The abandoning worker's bond went to the requester.
    let worker_account: Value = app
        .anon
        .get(app.url(&format!("/v1/accounts/{}", devnet.address(Role::Worker))))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        worker_account["totals"]["StakeSlashed"],
        (50 * USDT).to_string()
    );

    // Exactly two transactions from the service, and no more however long it keeps looking.
    for _ in 0..10 {
        devnet.mine(1).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let sent_after = provider
        .get_transaction_count(service_key.address())
        .await
        .unwrap();
    assert_eq!(sent_after - sent_before, 2);
}
