//! Accounts and verifier assignments, from an honest job played to payout on a real chain and indexed.

use serde_json::Value;
use tern_contracts::devnet::{self, Devnet, Role, USDT};

use crate::chain_util::job_hex;
use crate::util::{TestApp, expect_error};

async fn get(app: &TestApp, path: &str) -> Value {
    let response = app.anon.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn earnings_and_assignments_follow_the_chain() {
    let devnet = Devnet::spawn().await.unwrap();
    let app = TestApp::with(|c| {
        c.rpc_url = Some(devnet.endpoint());
        c.market_address = Some(devnet.market());
        c.start_block = devnet.deploy_block();
        c.confirmations = 0;
        c.poll_interval_ms = 50;
    })
    .await;
    let report = devnet::honest_scenario(&devnet).await.unwrap();
    let job_id = job_hex(report.job_id);
    let mut job = Value::Null;
    for _ in 0..300 {
        job = get(&app, &format!("/v1/jobs/{job_id}")).await;
        if job["state"] == "finalized" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(job["state"], "finalized");

    // The worker was paid the reward and withdrew it; its bond was locked and unlocked.
    let worker = devnet.address(Role::Worker);
    let account = get(&app, &format!("/v1/accounts/{worker}")).await;
    assert_eq!(account["address"], worker.to_checksum(None));
    let reward = report.params.reward.to_string();
    assert_eq!(account["credits_by_job"][&job_id], reward);
    assert_eq!(account["totals"]["Credited"], reward);
    assert_eq!(account["totals"]["Withdrawn"], reward);
    assert_eq!(account["withdrawable"], "0");
    assert_eq!(
        account["totals"]["StakeLocked"],
        account["totals"]["StakeUnlocked"]
    );
    assert!(
        account["events"].as_array().unwrap().len() >= 5,
        "{account}"
    );

    // The verifier was assigned every sampled interval and paid a fee for each.
    let verifier = devnet.address(Role::Verifier);
    let account = get(&app, &format!("/v1/accounts/{verifier}")).await;
    let fees =
        report.params.verifier_fee * alloy::primitives::U256::from(report.params.sample_count);
    assert_eq!(account["credits_by_job"][&job_id], fees.to_string());
    assert_eq!(account["totals"]["Staked"], (100 * USDT).to_string());
    let assigned = get(&app, &format!("/v1/jobs?verifier={verifier}")).await;
    let jobs = assigned["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["job_id"], job_id);
    let requester = devnet.address(Role::Requester);
    let none = get(&app, &format!("/v1/jobs?verifier={requester}")).await;
    assert!(none["jobs"].as_array().unwrap().is_empty());

    // An address the market never saw has an empty account; a malformed one is a 400.
    let stranger = get(
        &app,
        "/v1/accounts/0x000000000000000000000000000000000000dEaD",
    )
    .await;
    assert!(stranger["events"].as_array().unwrap().is_empty());
    assert_eq!(stranger["withdrawable"], "0");
    let bad = app
        .anon
        .get(app.url("/v1/accounts/0x12"))
        .send()
        .await
        .unwrap();
    expect_error(bad, 400, "invalid_query").await;
}
