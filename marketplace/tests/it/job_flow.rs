//! A job's way through the service on a real chain: the requester posts it and sends the transactions the service
//! answers with, the indexer sees it, the worker claims it on chain and reports progress, and the page's progress
//! endpoint shows the curve. Also: who may report, and what a chain-less service says.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use serde_json::{Value, json};
use tern_contracts::devnet::{Devnet, Role, USDT};
use tern_protocol::ContentId;

use crate::util::{TestApp, client_with, expect_error};

/// The example spec, naming `base` and `data` as its model and dataset.
fn spec(base: &ContentId, data: &ContentId, reward: u64) -> Value {
    let mut spec: Value =
        serde_json::from_str(include_str!("../../../protocol/examples/job-spec.json")).unwrap();
    spec["base_model"]["id"] = json!(base.to_string());
    spec["dataset"]["id"] = json!(data.to_string());
    spec["price"]["reward"] = json!((reward * USDT).to_string());
    spec
}

/// Uploads `bytes` with `client`; returns its id.
async fn upload(app: &TestApp, client: &reqwest::Client, bytes: &[u8]) -> ContentId {
    let id = ContentId::of(bytes);
    let response = client
        .put(app.url(&format!("/v1/blobs/{id}")))
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    id
}

/// Sends the service's transactions from `signer`, in order, each mined before the next.
async fn send_all(devnet: &Devnet, signer: PrivateKeySigner, posted: &Value) {
    let provider = ProviderBuilder::new()
        .wallet(signer)
        .connect_http(devnet.endpoint().parse().unwrap());
    for tx in posted["transactions"].as_array().unwrap() {
        let request = TransactionRequest::default()
            .with_to(tx["to"].as_str().unwrap().parse::<Address>().unwrap())
            .with_input(tx["data"].as_str().unwrap().parse::<Bytes>().unwrap());
        let receipt = provider
            .send_transaction(request)
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status(), "{} reverted", tx["description"]);
    }
}

/// Polls `GET url` until `done` holds for its JSON (the indexer works in the background).
async fn poll(client: &reqwest::Client, url: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..300 {
        let response = client.get(url).send().await.unwrap();
        if response.status().is_success() {
            let body: Value = response.json().await.unwrap();
            if done(&body) {
                return body;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{url} never reached the expected state");
}

#[tokio::test]
async fn a_posted_job_is_indexed_claimed_and_reports_progress() {
    let devnet = Devnet::spawn().await.unwrap();
    let app = TestApp::with(|c| {
        c.rpc_url = Some(devnet.endpoint());
        c.market_address = Some(devnet.market());
        c.start_block = devnet.deploy_block();
        c.confirmations = 0;
        c.poll_interval_ms = 50;
    })
    .await;
    let requester = devnet.signer(Role::Requester).unwrap();
    let as_requester = client_with(&app.sign_in(&requester).await);
    let base = upload(&app, &as_requester, b"a base model").await;
    let data = upload(&app, &as_requester, b"a dataset").await;

    let response = as_requester
        .post(app.url("/v1/jobs"))
        .json(&json!({"spec": spec(&base, &data, 5)}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let posted: Value = response.json().await.unwrap();
    assert_eq!(posted["market"], devnet.market().to_checksum(None));
    assert_eq!(posted["token"], devnet.token().to_checksum(None));
    assert_eq!(posted["chain_id"], 31337);
    let kinds: Vec<&str> = posted["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["description"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert!(kinds[0].starts_with("allow the market") && kinds[1].starts_with("create the job"));
    send_all(&devnet, requester.clone(), &posted).await;

    let spec_hash = posted["spec_hash"].as_str().unwrap().to_string();
    let listed = poll(&app.anon, &app.url("/v1/jobs?state=open"), |b| {
        b["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["spec_hash"] == spec_hash)
    })
    .await;
    let job = &listed["jobs"][0];
    assert_eq!(job["requester"], format!("{:#x}", requester.address()));
    assert_eq!(job["reward"], (5 * USDT).to_string());
    let job_id = job["job_id"].as_str().unwrap().to_string();

    // The worker stakes its bond and claims the job on chain; the indexer follows.
    let worker_chain = devnet.client(Role::Worker).await.unwrap();
    let bond = U256::from(2 * USDT);
    worker_chain.approve(bond).await.unwrap();
    worker_chain.stake(bond).await.unwrap();
    let job_u256: U256 = job_id.parse().unwrap();
    worker_chain.claim_job(job_u256).await.unwrap();
    let url = app.url(&format!("/v1/jobs/{job_id}"));
    poll(&app.anon, &url, |j| j["state"] == "claimed").await;

    // Only the worker reports progress, and only in range.
    let progress_url = app.url(&format!("/v1/jobs/{job_id}/progress"));
    let report = json!({"step": 1, "loss": 3.25, "tokens_per_second": 150.0, "eta_seconds": 60});
    let by_requester = as_requester
        .post(&progress_url)
        .json(&report)
        .send()
        .await
        .unwrap();
    expect_error(by_requester, 403, "forbidden").await;
    let as_worker = client_with(&app.sign_in(&devnet.signer(Role::Worker).unwrap()).await);
    for (step, loss) in [(1, 3.25), (2, 3.0), (3, 2.5), (2, 2.9)] {
        let response = as_worker
            .post(&progress_url)
            .json(&json!({"step": step, "loss": loss, "tokens_per_second": 150.0}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }
    let too_far = as_worker
        .post(&progress_url)
        .json(&json!({"step": 101, "loss": 1.0, "tokens_per_second": 1.0}))
        .send()
        .await
        .unwrap();
    let error = expect_error(too_far, 422, "invalid_fields").await;
    assert_eq!(error["fields"][0]["field"], "step");

    let curve: Value = app
        .anon
        .get(&progress_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let points: Vec<(i64, f64)> = curve["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["step"].as_i64().unwrap(), p["loss"].as_f64().unwrap()))
        .collect();
    assert_eq!(points, [(1, 3.25), (2, 2.9), (3, 2.5)]);
    let later: Value = app
        .anon
        .get(format!("{progress_url}?after_step=2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(later["points"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_second_posting_resets_a_left_over_allowance_first() {
    let devnet = Devnet::spawn().await.unwrap();
    let app = TestApp::with(|c| {
        c.rpc_url = Some(devnet.endpoint());
        c.market_address = Some(devnet.market());
        c.start_block = devnet.deploy_block();
    })
    .await;
    let requester = devnet.signer(Role::Requester).unwrap();
    let as_requester = client_with(&app.sign_in(&requester).await);
    let base = upload(&app, &as_requester, b"a base model").await;
    let data = upload(&app, &as_requester, b"a dataset").await;
    // Some allowance is left from elsewhere, less than this job's escrow.
    devnet
        .client(Role::Requester)
        .await
        .unwrap()
        .approve(U256::from(USDT))
        .await
        .unwrap();
    let posted: Value = as_requester
        .post(app.url("/v1/jobs"))
        .json(&json!({"spec": spec(&base, &data, 7)}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let descriptions: Vec<&str> = posted["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["description"].as_str().unwrap())
        .collect();
    assert_eq!(descriptions.len(), 3, "{descriptions:?}");
    assert!(descriptions[0].starts_with("reset"), "{descriptions:?}");
    // MockUSDT refuses to change a non-zero allowance: sending them in order works only with the reset.
    send_all(&devnet, requester, &posted).await;
}

#[tokio::test]
async fn posting_needs_a_session_stored_blobs_a_future_deadline_and_a_chain() {
    let devnet = Devnet::spawn().await.unwrap();
    let app = TestApp::with(|c| {
        c.rpc_url = Some(devnet.endpoint());
        c.market_address = Some(devnet.market());
        c.start_block = devnet.deploy_block();
    })
    .await;
    let base = upload(&app, &app.client, b"a base model").await;
    let missing = ContentId::of(b"never uploaded");

    let anonymous = app
        .anon
        .post(app.url("/v1/jobs"))
        .json(&json!({"spec": spec(&base, &missing, 5)}))
        .send()
        .await
        .unwrap();
    expect_error(anonymous, 401, "unauthenticated").await;

    let mut late = spec(&base, &missing, 5);
    late["deadlines"]["open_until"] = json!(1_000_000_000u64);
    let response = app
        .client
        .post(app.url("/v1/jobs"))
        .json(&json!({"spec": late}))
        .send()
        .await
        .unwrap();
    let error = expect_error(response, 422, "job_not_postable").await;
    let fields: Vec<&str> = error["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["spec.dataset.id", "spec.deadlines.open_until"]);

    let mut invalid = spec(&base, &base, 5);
    invalid["lora"]["rank"] = json!(0);
    let response = app
        .client
        .post(app.url("/v1/jobs"))
        .json(&json!({"spec": invalid}))
        .send()
        .await
        .unwrap();
    let error = expect_error(response, 422, "invalid_spec").await;
    assert_eq!(error["fields"][0]["field"], "spec.lora.rank");

    let chainless = TestApp::start().await;
    let response = chainless
        .client
        .post(chainless.url("/v1/jobs"))
        .json(&json!({"spec": spec(&base, &base, 5)}))
        .send()
        .await
        .unwrap();
    expect_error(response, 503, "chain_unavailable").await;
}
