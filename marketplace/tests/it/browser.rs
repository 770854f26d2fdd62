//! The web page in a real headless Chromium (Debian's `chromium`, driven by npm `playwright-core`), against this
//! crate's server and a real anvil with the market deployed.
//!
//! Why a Rust test that spawns node, rather than a node test that spawns the `marketplace` binary: the chain comes
//! from `tern_contracts::devnet::Devnet` (anvil, the contracts deployed, accounts funded) and the service is this
//! build's `Server` with its indexer, both exactly as the other tests run them; `cargo test` (what CI runs) runs it;
//! and no binary has to be found on disk, where a shared target directory may hold another build. Node only drives
//! the browser: `marketplace/web/tests/browser.mjs` (flows) and `harness.mjs` (launching Chromium, the test wallet,
//! page steps). To add a flow, extend `browser.mjs`, or start another script with [`Stack::run_script`].
//!
//! Without Chromium, node or `node_modules/playwright-core` the test is skipped with a message, unless `CI` is set:
//! then it fails. `deploy/toolchain.sh` installs both. Set `TERN_WEB_SHOTS=<dir>` to keep PNG screenshots of each
//! page; `TERN_CHROMIUM` names another Chromium binary.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use alloy::primitives::{B256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use serde_json::Value;
use serde_json::json;
use tern_contracts::devnet::{Devnet, FakeTrace, Role};
use tern_contracts::reveal_args;
use tern_marketplace::chain::sender::SenderKey;
use tern_protocol::ContentId;

use crate::util::{TestApp, client_with};

/// The repository root (the crate is one level below it).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The Chromium binary the tests drive.
fn chromium() -> PathBuf {
    std::env::var_os("TERN_CHROMIUM")
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// What is missing to run browser tests, if anything.
fn missing_tools() -> Vec<String> {
    let mut missing = Vec::new();
    if !chromium().is_file() {
        missing.push(format!(
            "{} (apt-get install chromium, or set TERN_CHROMIUM)",
            chromium().display()
        ));
    }
    if !root()
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        missing.push("node_modules/playwright-core (run deploy/toolchain.sh)".into());
    }
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        missing.push("node".into());
    }
    missing
}

/// Whether the browser tests can run: false (with a message) when a tool is missing outside CI; a failure in CI.
fn browser_available(test: &str) -> bool {
    let missing = missing_tools();
    if missing.is_empty() {
        return true;
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    assert!(
        !ci,
        "{test}: browser tests cannot run in CI without: {}",
        missing.join(", ")
    );
    eprintln!("skipping {test}: missing {}", missing.join(", "));
    false
}

/// anvil with the market, and the marketplace indexing it and running its keeper.
struct Stack {
    devnet: Devnet,
    app: TestApp,
}

impl Stack {
    /// Starts anvil (contracts deployed, accounts funded) and the marketplace with its indexer on it.
    async fn start() -> Self {
        let devnet = Devnet::spawn()
            .await
            .expect("anvil (run deploy/toolchain.sh)");
        // The service sends its own transactions (the keeper's finalize) from the account that plays it.
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
        Self { devnet, app }
    }

    /// Polls the marketplace until job `job_id` is in `state`.
    async fn wait_for_state(&self, job_id: &str, state: &str) {
        let url = self.app.url(&format!("/v1/jobs/{job_id}"));
        for _ in 0..600 {
            let response = self.app.anon.get(&url).send().await.unwrap();
            if response.status() == 200 && response.json::<Value>().await.unwrap()["state"] == state
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("job {job_id} never reached {state}");
    }

    /// Runs `node marketplace/web/tests/<script> <marketplace url> <rpc url>` with `env` added; fails the test
    /// with its output unless it exits 0. Returns the JSON of its `RESULT {...}` line (null if it printed none).
    async fn run_script(&self, script: &str, env: &[(&str, &str)]) -> Value {
        let path = root().join("marketplace/web/tests").join(script);
        let mut command = std::process::Command::new("node");
        command
            .arg(&path)
            .arg(self.app.url(""))
            .arg(self.devnet.endpoint())
            .env("TERN_CHROMIUM", chromium())
            .envs(env.iter().copied())
            .current_dir(root())
            .stdin(Stdio::null());
        // On the blocking pool: the server and the indexer run on this test's runtime meanwhile.
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap()
            .expect("node runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{script} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            output.status
        );
        if !stderr.trim().is_empty() {
            eprintln!("{script} stderr:\n{stderr}");
        }
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("RESULT "))
            .map_or(Value::Null, |json| serde_json::from_str(json).unwrap())
    }
}

#[tokio::test]
async fn a_requester_signs_in_uploads_a_dataset_and_posts_a_job_from_the_page() {
    if !browser_available("browser test") {
        return;
    }
    let stack = Stack::start().await;
    let result = stack.run_script("browser.mjs", &[]).await;

    // What the page did, as the API sees it: the job is on chain and indexed, posted by the wallet's account
    // with the spec the form built, which names the uploaded dataset.
    let requester = stack.devnet.address(Role::Requester);
    assert_eq!(
        result["address"].as_str().unwrap().to_lowercase(),
        format!("{requester:#x}")
    );
    let job_id = result["job_id"].as_str().expect("the page posted a job");
    let job: Value = stack
        .app
        .anon
        .get(stack.app.url(&format!("/v1/jobs/{job_id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(job["state"], "open");
    assert_eq!(job["requester"], format!("{requester:#x}"));
    assert_eq!(job["reward"], "5000000");
    assert_eq!(job["spec_hash"], result["spec_hash"]);
    let stored: Value = stack
        .app
        .anon
        .get(stack.app.url(&format!(
            "/v1/specs/{}",
            result["spec_hash"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let spec: Value = serde_json::from_str(stored["canonical_json"].as_str().unwrap()).unwrap();
    assert_eq!(spec["dataset"]["id"], result["dataset_id"], "{spec}");
}

#[tokio::test]
async fn the_job_page_draws_the_loss_curve_and_follows_new_reports() {
    if !browser_available("browser test") {
        return;
    }
    let stack = Stack::start().await;
    let (devnet, app) = (&stack.devnet, &stack.app);
    // A job posted and claimed on chain, with three progress reports from its worker.
    let requester = devnet.client(Role::Requester).await.unwrap();
    let params = devnet.job_params("web-progress").await.unwrap();
    requester.approve(params.escrow()).await.unwrap();
    let job = requester.create_job(&params).await.unwrap().outcome;
    let worker = devnet.client(Role::Worker).await.unwrap();
    worker.approve(params.worker_bond).await.unwrap();
    worker.stake(params.worker_bond).await.unwrap();
    worker.claim_job(job).await.unwrap();
    let job_id = alloy::hex::encode_prefixed(alloy::primitives::B256::from(job));
    let url = app.url(&format!("/v1/jobs/{job_id}"));
    for _ in 0..600 {
        let state = app.anon.get(&url).send().await.unwrap();
        if state.status() == 200 && state.json::<Value>().await.unwrap()["state"] == "claimed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let token = app.sign_in(&devnet.signer(Role::Worker).unwrap()).await;
    let as_worker = client_with(&token);
    for (step, loss) in [(1, 3.25), (2, 3.0), (3, 2.5)] {
        let response = as_worker
            .post(format!("{url}/progress"))
            .json(&json!({"step": step, "loss": loss, "tokens_per_second": 150.0, "eta_seconds": 100}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }

    let result = stack
        .run_script(
            "progress.mjs",
            &[("TERN_WEB_JOB", &job_id), ("TERN_WEB_WORKER_TOKEN", &token)],
        )
        .await;
    assert_eq!(result["points"], 4);
}

#[tokio::test]
async fn a_job_posted_from_the_page_is_watched_through_training_to_payout() {
    if !browser_available("browser test") {
        return;
    }
    let stack = Stack::start().await;
    let (devnet, app) = (&stack.devnet, &stack.app);

    // The requester posts the job from the page, signing with the injected wallet.
    let posted = stack.run_script("browser.mjs", &[]).await;
    let job_id = posted["job_id"].as_str().unwrap().to_string();
    let id: U256 = job_id.parse().unwrap();

    // A verifier is in the pool; the worker stakes its bond and claims the job on chain.
    let verifier = devnet.client(Role::Verifier).await.unwrap();
    let stake = devnet.config().min_verifier_stake;
    verifier.approve(stake).await.unwrap();
    verifier.stake(stake).await.unwrap();
    verifier.join_verifier_pool().await.unwrap();
    let worker = devnet.client(Role::Worker).await.unwrap();
    let job = worker.job(id).await.unwrap();
    worker.approve(job.worker_bond).await.unwrap();
    worker.stake(job.worker_bond).await.unwrap();
    worker.claim_job(id).await.unwrap();
    stack.wait_for_state(&job_id, "claimed").await;

    // It trains, reporting progress; the page draws the curve and follows it live.
    let token = app.sign_in(&devnet.signer(Role::Worker).unwrap()).await;
    let as_worker = client_with(&token);
    for (step, loss) in [(1, 3.25), (2, 3.0), (3, 2.5)] {
        let response = as_worker
            .post(app.url(&format!("/v1/jobs/{job_id}/progress")))
            .json(&json!({"step": step, "loss": loss, "tokens_per_second": 150.0}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }
    let progress = stack
        .run_script(
            "progress.mjs",
            &[("TERN_WEB_JOB", &job_id), ("TERN_WEB_WORKER_TOKEN", &token)],
        )
        .await;
    assert_eq!(progress["points"], 4);

    // It submits its trace and uploads the adapter; the audit samples intervals; the verifier attests them. The
    // trace is a fake one (the real worker agent is another part); the adapter is real bytes under their hash.
    let adapter = b"the adapter file of this job".to_vec();
    let adapter_id = ContentId::of(&adapter);
    let uploaded = as_worker
        .put(app.url(&format!("/v1/blobs/{adapter_id}")))
        .body(adapter.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 201);
    let mut trace = FakeTrace::honest(id, job.num_intervals, job.checkpoint_interval, 1).unwrap();
    trace.adapter_hash = B256::from(*adapter_id.digest());
    let result = worker
        .submit_result(id, trace.root(), trace.adapter_hash)
        .await
        .unwrap()
        .outcome;
    devnet.mine(devnet.config().audit_delay).await.unwrap();
    let seed = worker.audit_seed(&result).await.unwrap();
    let intervals = worker
        .sample_intervals(seed, job.num_intervals, job.sample_count)
        .await
        .unwrap();
    let (starts, proofs) = reveal_args(&trace.commitment, &trace.state_hashes, &intervals).unwrap();
    worker
        .start_audit_and_reveal(id, &result, starts, proofs)
        .await
        .unwrap();
    let audit = verifier.audit_of(id).await.unwrap();
    let sampled = verifier.audit_intervals(id, &audit).await.unwrap();
    let starts = verifier.revealed_checkpoints(id).await.unwrap();
    let a = trace
        .attestation(id, &audit, &sampled, &starts, verifier.sender())
        .unwrap();
    verifier
        .attest(id, &audit, &a.indexes, a.ends, a.proofs)
        .await
        .unwrap();
    stack.wait_for_state(&job_id, "verified").await;

    // The challenge window passes; nobody calls finalize but the service's keeper.
    let service = devnet.address(Role::Deployer);
    let provider = ProviderBuilder::new().connect_http(devnet.endpoint().parse().unwrap());
    let sent_before = provider.get_transaction_count(service).await.unwrap();
    devnet
        .advance_time(u64::from(devnet.config().challenge_window) + 1)
        .await
        .unwrap();
    stack.wait_for_state(&job_id, "finalized").await;
    let sent_after = provider.get_transaction_count(service).await.unwrap();
    assert_eq!(
        sent_after - sent_before,
        1,
        "the keeper sent exactly the finalize"
    );

    // The page shows the payout: finalized, every interval attested, the adapter downloadable.
    let finished = stack
        .run_script(
            "finalized.mjs",
            &[
                ("TERN_WEB_JOB", &job_id),
                (
                    "TERN_WEB_VERIFIER",
                    &format!("{:#x}", devnet.address(Role::Verifier)),
                ),
            ],
        )
        .await;
    assert_eq!(finished["attested"], u64::from(job.sample_count));
    assert_eq!(finished["adapter_bytes"], adapter.len());
    assert_eq!(finished["adapter"], format!("/v1/blobs/{adapter_id}"));
}
