//! `tern-devnet` end to end, as a user runs it: the binary on a free port, the demo job through the marketplace
//! to payout, then checks from outside: the marketplace's API and the chain.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::providers::{Provider, ProviderBuilder};
use serde_json::Value;

/// The running binary; stopped with SIGINT (its Ctrl-C) when dropped, so that anvil and the data directory go too.
struct Devnet {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line printed so far.
    seen: Vec<String>,
}

impl Devnet {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tern-devnet"))
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start tern-devnet");
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                println!("{line}");
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one starts with `prefix` (the demo's steps wait on the chain, not on a clock: the limit
    /// only keeps a hung run from hanging the test).
    fn wait_for_line(&mut self, prefix: &str) {
        let limit = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let left = limit.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let done = line.starts_with(prefix);
                    self.seen.push(line);
                    if done {
                        return;
                    }
                }
                Err(err) => panic!(
                    "no line starting with {prefix:?} ({err}); exit: {:?}",
                    self.child.try_wait()
                ),
            }
        }
    }

    /// The rest of the first printed line whose first word (or words) are `label`.
    fn value(&self, label: &str) -> String {
        self.seen
            .iter()
            .find_map(|line| {
                line.trim_start()
                    .strip_prefix(label)
                    .filter(|rest| rest.starts_with(' '))
                    .and_then(|rest| rest.split_whitespace().next())
            })
            .unwrap_or_else(|| panic!("no {label:?} line in {:#?}", self.seen))
            .to_string()
    }

    /// Sends SIGINT and waits for the exit status.
    fn interrupt(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success());
        let limit = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < limit,
                "tern-devnet did not stop on SIGINT"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-INT", &self.child.id().to_string()])
                .status();
            std::thread::sleep(Duration::from_secs(2));
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

async fn get(url: &str) -> Value {
    let response = reqwest::get(url).await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_demo_job_goes_through_the_marketplace_to_payout() {
    let mut devnet = Devnet::start(&["--listen", "127.0.0.1:0", "--keep-running"]);
    devnet.wait_for_line("ready");
    let chain = devnet.value("local chain");
    let deployer: Address = devnet.value("deployer").parse().unwrap();
    let worker: Address = devnet.value("worker").parse().unwrap();
    let market = devnet.value("marketplace");
    let market = market.trim_end_matches('/');
    let job_page = devnet.value("the job");
    let data_dir = devnet.value("data");
    assert!(market.starts_with("http://127.0.0.1:"), "{market}");
    assert_ne!(market, "http://127.0.0.1:0");
    let job_id = job_page
        .strip_prefix(&format!("{market}/jobs/"))
        .unwrap_or_else(|| panic!("job page {job_page} is not on {market}"))
        .to_string();

    // The web page serves the job's page.
    let page = reqwest::get(&job_page).await.unwrap();
    assert!(page.status().is_success());

    // The marketplace's view: finalized.
    let job = get(&format!("{market}/v1/jobs/{job_id}")).await;
    assert_eq!(job["state"], "finalized", "{job}");
    assert_eq!(job["worker"], format!("{worker:#x}"));

    // The finalize transaction came from the Deployer: the service's keeper, not the demo.
    let finalize: B256 = job["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "JobStateChanged" && e["data"]["state"] == "finalized")
        .unwrap_or_else(|| panic!("no finalize event in {job}"))["tx_hash"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let provider = ProviderBuilder::new().connect_http(chain.parse().unwrap());
    let receipt = provider
        .get_transaction_receipt(finalize)
        .await
        .unwrap()
        .expect("the finalize receipt");
    assert!(receipt.status());
    assert_eq!(receipt.from, deployer);

    // The worker's account shows the reward credited for the job, and (withdrawn) nothing left.
    let account = get(&format!("{market}/v1/accounts/{worker}")).await;
    assert_eq!(
        account["credits_by_job"][&job_id], job["reward"],
        "{account}"
    );
    assert_eq!(job["reward"], "100000000");
    assert_eq!(account["withdrawable"], "0", "{account}");

    // The simulated progress reached the service.
    let progress = get(&format!("{market}/v1/jobs/{job_id}/progress")).await;
    assert_eq!(
        progress["points"].as_array().unwrap().len(),
        6,
        "{progress}"
    );

    // Ctrl-C stops everything cleanly and removes the run's data directory.
    let status = devnet.interrupt();
    assert!(status.success(), "{status:?}");
    assert!(
        !std::path::Path::new(&data_dir).exists(),
        "{data_dir} is left behind"
    );
}

#[test]
fn a_taken_port_is_a_clear_error_before_anything_starts() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_tern-devnet"))
        .args(["--listen", &addr])
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(stderr.contains("--listen"), "{stderr}");
    // Nothing started: no chain was announced.
    assert!(
        output.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}
