//! A real anvil with the market deployed (`tern_contracts::devnet`), and helpers for tests of the chain indexer:
//! job creation, the market's logs as the chain has them, and polling for a condition.

use std::future::Future;
use std::time::Duration;

use alloy::primitives::{B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use tern_contracts::devnet::{Devnet, Role};
use tern_contracts::{JobParams, JobState, Market};
use tern_marketplace::Config;
use tern_marketplace::chain::IndexerConfig;
use tern_marketplace::db::Database;

/// How long a condition may take before a test fails (generous: the machine is shared).
pub const PATIENCE: Duration = Duration::from_secs(90);

/// Polls `check` until it returns `Some`, every 50 ms, for at most [`PATIENCE`].
pub async fn eventually<T, Fut>(what: &str, mut check: impl FnMut() -> Fut) -> T
where
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {PATIENCE:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A job id as the API writes it.
pub fn job_hex(job_id: U256) -> String {
    alloy::hex::encode_prefixed(B256::from(job_id))
}

/// The snake_case name of a state.
pub fn state_name(state: JobState) -> String {
    format!("{state:?}").to_lowercase()
}

/// A devnet with a requester and a worker client.
pub struct Chain {
    pub devnet: Devnet,
    pub requester: Market,
    pub worker: Market,
}

impl Chain {
    pub async fn start() -> Self {
        let devnet = Devnet::spawn()
            .await
            .expect("anvil (run deploy/toolchain.sh)");
        let requester = devnet.client(Role::Requester).await.unwrap();
        let worker = devnet.client(Role::Worker).await.unwrap();
        Self {
            devnet,
            requester,
            worker,
        }
    }

    /// Indexer settings for this chain with `confirmations`, polling every 50 ms.
    pub fn indexer_config(&self, confirmations: u64) -> IndexerConfig {
        IndexerConfig {
            start_block: self.devnet.deploy_block(),
            confirmations,
            poll_interval: Duration::from_millis(50),
            ..IndexerConfig::new(self.devnet.endpoint(), self.devnet.market())
        }
    }

    /// Edits a server configuration to index this chain.
    pub fn server_config(&self, confirmations: u64) -> impl FnOnce(&mut Config) + use<> {
        let rpc = self.devnet.endpoint();
        let market = self.devnet.market();
        let start = self.devnet.deploy_block();
        move |config: &mut Config| {
            config.rpc_url = Some(rpc);
            config.market_address = Some(market);
            config.start_block = start;
            config.confirmations = confirmations;
            config.poll_interval_ms = 50;
            config.leader_check_ms = 100;
        }
    }

    /// Job parameters with `tag` in the spec hash and `reward` USDT base units.
    pub async fn params(&self, tag: &str, reward: u64) -> JobParams {
        let mut params = self.devnet.job_params(tag).await.unwrap();
        params.reward = U256::from(reward);
        params
    }

    /// Posts a job from `from` (approving its escrow first); returns its id.
    pub async fn create_job_from(&self, from: &Market, params: &JobParams) -> U256 {
        // The allowance left over from a previous job may be short: approve resets and sets it as USDT needs.
        from.approve(params.escrow()).await.unwrap();
        from.create_job(params).await.unwrap().outcome
    }

    /// Posts `n` jobs from the requester, tagged `tag0..`; returns their ids.
    pub async fn create_jobs(&self, n: usize, tag: &str) -> Vec<U256> {
        let mut ids = Vec::new();
        for i in 0..n {
            let params = self.params(&format!("{tag}{i}"), 100_000_000).await;
            ids.push(self.create_job_from(&self.requester, &params).await);
        }
        ids
    }

    /// Stakes enough for the worker to claim `jobs` jobs.
    pub async fn stake_worker(&self, jobs: u64) {
        let bond = self.devnet.job_params("bond").await.unwrap().worker_bond * U256::from(jobs);
        self.worker.approve(bond).await.unwrap();
        self.worker.stake(bond).await.unwrap();
    }

    /// The latest block number.
    pub async fn head(&self) -> u64 {
        self.devnet.block_number().await.unwrap()
    }

    /// `(block_number, log_index)` of every market log from the deployment block to `to`, in chain order.
    pub async fn log_positions(&self, to: u64) -> Vec<(u64, u64)> {
        let filter = Filter::new()
            .address(self.devnet.market())
            .from_block(self.devnet.deploy_block())
            .to_block(to);
        let mut logs: Vec<(u64, u64)> = self
            .requester
            .provider()
            .get_logs(&filter)
            .await
            .unwrap()
            .iter()
            .map(|l| (l.block_number.unwrap(), l.log_index.unwrap()))
            .collect();
        logs.sort_unstable();
        logs
    }

    /// `(block_number, log_index)` of job `job_id`'s market logs (not its Credited events), in chain order.
    pub async fn job_log_positions(&self, job_id: U256) -> Vec<(u64, u64)> {
        let filter = Filter::new()
            .address(self.devnet.market())
            .from_block(self.devnet.deploy_block())
            .topic1(B256::from(job_id));
        let mut logs: Vec<(u64, u64)> = self
            .requester
            .provider()
            .get_logs(&filter)
            .await
            .unwrap()
            .iter()
            // Credited has the job id as its second topic; it is an account event.
            .filter(|l| {
                l.topics()[0] != tern_contracts::bindings::TernMarket::Credited::SIGNATURE_HASH
            })
            .map(|l| (l.block_number.unwrap(), l.log_index.unwrap()))
            .collect();
        logs.sort_unstable();
        logs
    }
}

/// Checks that the indexed row of `job_id` agrees with the contract's record.
pub async fn assert_mirrors(db: &Database, market: &Market, job_id: U256) {
    let on_chain = market.job(job_id).await.unwrap();
    let job = db
        .job(&job_hex(job_id))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("job {} is not indexed", job_hex(job_id)));
    assert_eq!(
        job.requester,
        alloy::hex::encode_prefixed(on_chain.requester)
    );
    let worker = (!on_chain.worker.is_zero()).then(|| alloy::hex::encode_prefixed(on_chain.worker));
    assert_eq!(job.worker, worker);
    assert_eq!(job.state, state_name(on_chain.state));
    assert_eq!(job.deadline, on_chain.deadline);
    assert_eq!(
        job.spec_hash,
        alloy::hex::encode_prefixed(on_chain.spec_hash)
    );
    assert_eq!(job.reward, on_chain.reward.to_string());
    assert_eq!(job.verifier_fee, on_chain.verifier_fee.to_string());
    assert_eq!(job.worker_bond, on_chain.worker_bond.to_string());
    assert_eq!(job.sample_count, u32::from(on_chain.sample_count));
    assert_eq!(job.checkpoint_interval, on_chain.checkpoint_interval);
    assert_eq!(job.num_intervals, on_chain.num_intervals);
    assert_eq!(job.train_duration, on_chain.train_duration);
    assert_eq!(job.open_until, on_chain.open_until);
    assert_eq!(job.revealed_start_hashes.is_empty(), !on_chain.revealed);
    let mask = job
        .attested_indexes
        .iter()
        .fold(0u16, |mask, &i| mask | (1 << i));
    assert_eq!(mask, on_chain.attested_mask);
}
