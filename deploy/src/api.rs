//! A small client of the marketplace's HTTP API: what the demo's requester and worker do through it, as their
//! wallets on the web page would.

use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, bail};
use serde_json::{Value, json};
use tern_marketplace::{JobDetail, LoginRequest, NonceIssued, SessionOpened};
use tern_protocol::ContentId;

/// How often a wait polls the API.
const POLL: Duration = Duration::from_millis(100);

/// The marketplace's API at one base URL, anonymous or with one address's session.
#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    /// An anonymous client of the marketplace at `base` (`http://HOST:PORT`).
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
        }
    }

    /// The URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Signs `wallet` in with Sign-In with Ethereum (the service's nonce and message, signed with EIP-191) and
    /// returns a client that sends the session's token.
    pub async fn sign_in(&self, wallet: &PrivateKeySigner) -> anyhow::Result<Self> {
        let address = wallet.address();
        let issued: NonceIssued = read(
            self.http
                .post(self.url(&format!("/v1/auth/nonce?address={address}")))
                .send()
                .await,
        )
        .await
        .context("asking for a sign-in nonce")?;
        let message = issued
            .message
            .context("the nonce answer has no message to sign")?;
        let signature = wallet
            .sign_message_sync(message.as_bytes())
            .context("signing the sign-in message")?;
        let login = LoginRequest {
            message,
            signature: alloy::hex::encode_prefixed(signature.as_bytes()),
        };
        let session: SessionOpened = read(
            self.http
                .post(self.url("/v1/auth/login"))
                .json(&login)
                .send()
                .await,
        )
        .await
        .context("signing in")?;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {}", session.token)
                .parse()
                .context("the session token is not a header value")?,
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            base: self.base.clone(),
            http,
        })
    }

    /// Uploads `bytes` to the blob store under their content id; returns the id.
    pub async fn upload(&self, bytes: &[u8]) -> anyhow::Result<ContentId> {
        let id = ContentId::of(bytes);
        let _: Value = read(
            self.http
                .put(self.url(&format!("/v1/blobs/{id}")))
                .body(bytes.to_vec())
                .send()
                .await,
        )
        .await
        .with_context(|| format!("uploading {id}"))?;
        Ok(id)
    }

    /// Posts a job spec; returns the service's answer (spec hash, escrow, the transactions to send).
    pub async fn post_job(&self, spec: &Value) -> anyhow::Result<Value> {
        read(
            self.http
                .post(self.url("/v1/jobs"))
                .json(&json!({ "spec": spec }))
                .send()
                .await,
        )
        .await
        .context("posting the job")
    }

    /// The job as the marketplace indexed it; `None` while it has not seen it.
    pub async fn job(&self, job_id: U256) -> anyhow::Result<Option<JobDetail>> {
        let response = self
            .http
            .get(self.url(&format!("/v1/jobs/{}", job_hex(job_id))))
            .send()
            .await;
        if matches!(&response, Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND) {
            return Ok(None);
        }
        read(response).await.map(Some)
    }

    /// Polls the job until `done` holds for it, for at most `limit`; `what` says what is awaited in the error.
    pub async fn wait_for_job(
        &self,
        job_id: U256,
        what: &str,
        limit: Duration,
        done: impl Fn(&JobDetail) -> bool,
    ) -> anyhow::Result<JobDetail> {
        let start = tokio::time::Instant::now();
        let mut last = None;
        loop {
            if let Some(job) = self.job(job_id).await? {
                if done(&job) {
                    return Ok(job);
                }
                last = Some(job.job.state);
            }
            if start.elapsed() > limit {
                bail!(
                    "{what}: job {} is still {} in the marketplace after {} s",
                    job_hex(job_id),
                    last.as_deref().unwrap_or("not indexed"),
                    limit.as_secs()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Polls the job list until a job of `requester` with `spec_hash` shows up; returns its id.
    pub async fn wait_for_posted(
        &self,
        requester: Address,
        spec_hash: &str,
        limit: Duration,
    ) -> anyhow::Result<U256> {
        let start = tokio::time::Instant::now();
        loop {
            let listed: Value = read(
                self.http
                    .get(self.url(&format!("/v1/jobs?requester={requester}")))
                    .send()
                    .await,
            )
            .await
            .context("listing the requester's jobs")?;
            let found = listed["jobs"].as_array().and_then(|jobs| {
                jobs.iter()
                    .find(|j| j["spec_hash"] == spec_hash)
                    .and_then(|j| j["job_id"].as_str())
            });
            if let Some(id) = found {
                return id
                    .parse()
                    .with_context(|| format!("the job id {id:?} is not a number"));
            }
            if start.elapsed() > limit {
                bail!(
                    "the marketplace did not index the posted job (spec {spec_hash}) within {} s",
                    limit.as_secs()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Reports a training step's loss for the job (the session must be its worker's).
    pub async fn report_progress(
        &self,
        job_id: U256,
        step: u32,
        loss: f64,
        tokens_per_second: f64,
    ) -> anyhow::Result<()> {
        let response = self
            .http
            .post(self.url(&format!("/v1/jobs/{}/progress", job_hex(job_id))))
            .json(&json!({"step": step, "loss": loss, "tokens_per_second": tokens_per_second}))
            .send()
            .await;
        check(response)
            .await
            .with_context(|| format!("reporting progress at step {step}"))
            .map(drop)
    }

    /// An address's account as the marketplace's indexer sees it (`GET /v1/accounts/{address}`), once `done`
    /// holds for it (polled for at most `limit`).
    pub async fn wait_for_account(
        &self,
        address: Address,
        limit: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let start = tokio::time::Instant::now();
        loop {
            let account: Value = read(
                self.http
                    .get(self.url(&format!("/v1/accounts/{address}")))
                    .send()
                    .await,
            )
            .await
            .with_context(|| format!("reading the account of {address}"))?;
            if done(&account) {
                return Ok(account);
            }
            if start.elapsed() > limit {
                bail!(
                    "the marketplace's view of {address} did not catch up with the chain within {} s: {account}",
                    limit.as_secs()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// A job id as the API writes it: `0x` and 64 hex digits.
pub fn job_hex(job_id: U256) -> String {
    format!("{job_id:#066x}")
}

/// The response, if it is a success; else an error with its status and body (the service's JSON error).
async fn check(response: reqwest::Result<reqwest::Response>) -> anyhow::Result<reqwest::Response> {
    let response = response.context("the marketplace did not answer")?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let url = response.url().path().to_string();
    let body = response.text().await.unwrap_or_default();
    bail!("{url}: HTTP {status}: {body}")
}

/// The response's JSON body, if it is a success.
async fn read<T: serde::de::DeserializeOwned>(
    response: reqwest::Result<reqwest::Response>,
) -> anyhow::Result<T> {
    check(response)
        .await?
        .json()
        .await
        .context("the marketplace's answer is not the expected JSON")
}
