//! The settlement sender against a real anvil (the market deployed by `Devnet`), on both database backends.

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use tern_contracts::JobState;
use tern_contracts::devnet::{Devnet, Role};
use tern_marketplace::chain::sender::{Broadcast, Intent, Round, Sender, SenderConfig};
use tern_marketplace::db::{Database, IntentState, OutboxIntent};

use crate::on_both_backends;
use crate::util::{Backend, TestDb};

/// The account the sender signs with: one no other actor of these tests uses, so its nonce counts only the
/// sender's transactions.
const SENDER: Role = Role::Extra(5);

/// A chain with the market, a database, and a plain provider for checks.
struct Setup {
    devnet: Devnet,
    db: Database,
    provider: DynProvider,
    _test_db: TestDb,
}

impl Setup {
    async fn new(backend: Backend) -> Option<Self> {
        let test_db = TestDb::new(backend).await?;
        let db = Database::connect(&test_db.url).await.unwrap();
        let devnet = Devnet::spawn().await.unwrap();
        let provider = ProviderBuilder::new()
            .connect_http(devnet.endpoint().parse().unwrap())
            .erased();
        Some(Self {
            devnet,
            db,
            provider,
            _test_db: test_db,
        })
    }

    /// A sender process on this database (a new one after a "crash").
    async fn sender(&self, config: SenderConfig) -> Sender {
        Sender::new(
            self.db.clone(),
            self.provider.clone(),
            self.devnet.signer(SENDER).unwrap(),
            SenderConfig {
                chain_id: Some(self.devnet.chain_id()),
                ..config
            },
        )
        .await
        .unwrap()
    }

    /// `n` open jobs whose open deadline has passed (anyone may expire them).
    async fn expirable_jobs(&self, n: usize) -> Vec<U256> {
        let jobs = self.open_jobs(n, "expirable").await;
        // Jobs are open for an hour ([`Devnet::job_params`]).
        self.devnet.advance_time(3601).await.unwrap();
        jobs
    }

    /// `n` open jobs, open for another hour.
    async fn open_jobs(&self, n: usize, tag: &str) -> Vec<U256> {
        let requester = self.devnet.client(Role::Requester).await.unwrap();
        let mut jobs = Vec::new();
        for i in 0..n {
            let params = self
                .devnet
                .job_params(&format!(
                    "{tag} {i} {}",
                    self.devnet.timestamp().await.unwrap()
                ))
                .await
                .unwrap();
            requester.approve(params.escrow()).await.unwrap();
            jobs.push(requester.create_job(&params).await.unwrap().outcome);
        }
        jobs
    }

    async fn job_state(&self, job_id: U256) -> JobState {
        let view = self.devnet.client(Role::Deployer).await.unwrap();
        view.job(job_id).await.unwrap().state
    }

    /// The sender account's mined transaction count.
    async fn mined_nonce(&self) -> u64 {
        self.provider
            .get_transaction_count(self.devnet.address(SENDER))
            .latest()
            .await
            .unwrap()
    }

    async fn set_automine(&self, on: bool) {
        let _: serde_json::Value = self
            .provider
            .raw_request("evm_setAutomine".into(), (on,))
            .await
            .unwrap();
    }

    async fn intent(&self, key: &str) -> OutboxIntent {
        self.db.outbox_intent(key).await.unwrap().unwrap()
    }

    async fn enqueue(&self, sender: &Sender, intent: &Intent) -> bool {
        sender
            .enqueue(&intent.key, intent.to, &intent.calldata)
            .await
            .unwrap()
    }
}

/// Runs rounds until no intent is queued or in flight (at most 100, a few milliseconds apart: anvil mines
/// transactions that were waiting for an earlier nonce in the background).
async fn settle_all(sender: &Sender) {
    let mut rounds = Vec::new();
    for _ in 0..100 {
        let round = sender.run_once().await.unwrap();
        let queued = sender.db().outbox_count(IntentState::Queued).await.unwrap();
        if round.in_flight == 0 && queued == 0 {
            return;
        }
        rounds.push(round);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("intents still unsettled after 100 rounds: {rounds:?}");
}

/// Never bumps within a test (a restart must not look like a stuck transaction).
fn patient() -> SenderConfig {
    SenderConfig {
        bump_after_blocks: 1000,
        bump_after_secs: 3600,
        ..SenderConfig::default()
    }
}

on_both_backends!(
    intent_is_sent_once_and_confirmed,
    duplicate_enqueue_is_a_noop,
    pending_transaction_is_bumped_and_one_mined,
    restart_never_sends_twice,
    reverts_fail_the_intent_and_later_intents_go_on,
    nonce_used_elsewhere_supersedes_the_intent,
    run_loop_settles_intents_until_shutdown,
);

async fn intent_is_sent_once_and_confirmed(backend: Backend) {
    let Some(s) = Setup::new(backend).await else {
        return;
    };
    let job = s.expirable_jobs(1).await[0];
    let sender = s.sender(patient()).await;
    let nonce_before = s.mined_nonce().await;
    let intent = Intent::expire_job(s.devnet.market(), job);
    assert_eq!(intent.key, format!("expire:{job}"));
    assert!(s.enqueue(&sender, &intent).await);
    assert!(!s.enqueue(&sender, &intent).await);

    let round = sender.run_once().await.unwrap();
    assert_eq!((round.sent, round.in_flight), (1, 1), "{round:?}");
    settle_all(&sender).await;

    let stored = s.intent(&intent.key).await;
    assert_eq!(stored.state, IntentState::Confirmed, "{stored:?}");
    assert_eq!(stored.nonce, Some(nonce_before as i64));
    assert_eq!(
        stored.sender.as_deref(),
        Some(format!("{:#x}", sender.address()).as_str())
    );
    let txs = s.db.outbox_txs(stored.id).await.unwrap();
    assert_eq!(txs.len(), 1);
    assert_eq!(stored.tx_hash.as_deref(), Some(txs[0].tx_hash.as_str()));
    assert_eq!(s.job_state(job).await, JobState::Expired);

    // Settled: enqueueing the key again does nothing, and nothing more is sent.
    assert!(!s.enqueue(&sender, &intent).await);
    let round = sender.run_once().await.unwrap();
    assert_eq!(round, Default::default());
    assert_eq!(s.mined_nonce().await, nonce_before + 1);
}

async fn duplicate_enqueue_is_a_noop(backend: Backend) {
    let Some(test_db) = TestDb::new(backend).await else {
        return;
    };
    let db = Database::connect(&test_db.url).await.unwrap();
    let to = format!("{:#x}", Address::repeat_byte(0xab));
    assert!(
        db.enqueue_outbox("expire:1", &to, &[1, 2, 3])
            .await
            .unwrap()
    );
    assert!(!db.enqueue_outbox("expire:1", &to, &[9, 9]).await.unwrap());
    assert!(db.enqueue_outbox("expire:2", &to, &[4]).await.unwrap());

    let first = db.outbox_intent("expire:1").await.unwrap().unwrap();
    assert_eq!(first.calldata, vec![1, 2, 3]);
    assert_eq!(first.to, to);
    assert_eq!(first.state, IntentState::Queued);
    assert_eq!(first.nonce, None);
    assert_eq!(db.outbox_count(IntentState::Queued).await.unwrap(), 2);
    let queued = db.outbox_queued(10).await.unwrap();
    assert_eq!(
        queued.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
        ["expire:1", "expire:2"]
    );
    assert!(db.outbox_intent("expire:3").await.unwrap().is_none());
}

async fn pending_transaction_is_bumped_and_one_mined(backend: Backend) {
    let Some(s) = Setup::new(backend).await else {
        return;
    };
    let job = s.expirable_jobs(1).await[0];
    // Every round finds the pending transaction due for a bump.
    let sender = s
        .sender(SenderConfig {
            bump_after_blocks: 1000,
            bump_after_secs: 0,
            ..SenderConfig::default()
        })
        .await;
    let nonce_before = s.mined_nonce().await;
    let intent = Intent::expire_job(s.devnet.market(), job);
    s.enqueue(&sender, &intent).await;

    s.set_automine(false).await;
    let round = sender.run_once().await.unwrap();
    assert_eq!(round.sent, 1, "{round:?}");
    for _ in 0..2 {
        let round = sender.run_once().await.unwrap();
        assert_eq!((round.bumped, round.in_flight), (1, 1), "{round:?}");
    }
    s.devnet.mine(1).await.unwrap();
    s.set_automine(true).await;
    let round = sender.run_once().await.unwrap();
    assert_eq!((round.confirmed, round.in_flight), (1, 0), "{round:?}");

    let stored = s.intent(&intent.key).await;
    assert_eq!(stored.state, IntentState::Confirmed, "{stored:?}");
    let txs = s.db.outbox_txs(stored.id).await.unwrap();
    assert_eq!(txs.len(), 3);
    for pair in txs.windows(2) {
        let (old, new) = (&pair[0], &pair[1]);
        assert_eq!(new.nonce, old.nonce);
        assert!(
            new.max_fee_per_gas * 1000 >= old.max_fee_per_gas * 1125,
            "{old:?} {new:?}"
        );
        assert!(
            new.max_priority_fee_per_gas * 1000 >= old.max_priority_fee_per_gas * 1125,
            "{old:?} {new:?}"
        );
        assert!(new.max_fee_per_gas <= SenderConfig::default().max_fee_per_gas as i64);
    }
    // Exactly one transaction of the nonce was mined: the last replacement.
    let mut mined = Vec::new();
    for tx in &txs {
        let receipt = s
            .provider
            .get_transaction_receipt(tx.tx_hash.parse().unwrap())
            .await
            .unwrap();
        if receipt.is_some() {
            mined.push(tx.tx_hash.clone());
        }
    }
    assert_eq!(mined, [txs[2].tx_hash.clone()]);
    assert_eq!(stored.tx_hash.as_deref(), Some(txs[2].tx_hash.as_str()));
    assert_eq!(s.mined_nonce().await, nonce_before + 1);
    assert_eq!(s.job_state(job).await, JobState::Expired);
}

async fn restart_never_sends_twice(backend: Backend) {
    let Some(s) = Setup::new(backend).await else {
        return;
    };
    let jobs = s.expirable_jobs(3).await;
    let intents: Vec<Intent> = jobs
        .iter()
        .map(|&job| Intent::expire_job(s.devnet.market(), job))
        .collect();
    let nonce_before = s.mined_nonce().await;

    // First process: records A's transaction and stops before broadcasting it.
    let first = s.sender(patient()).await;
    for intent in &intents {
        s.enqueue(&first, intent).await;
    }
    let a = first
        .sign_next(&mut Default::default())
        .await
        .unwrap()
        .unwrap();
    drop(first);
    assert!(
        s.provider
            .get_transaction_by_hash(a.tx_hash.parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );

    // Second process: records and broadcasts B, then stops before seeing it settle. B waits in the node's pool
    // behind A's nonce.
    let second = s.sender(patient()).await;
    let b = second
        .sign_next(&mut Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.nonce, a.nonce + 1);
    second.broadcast(&b).await.unwrap();
    drop(second);
    assert_eq!(s.mined_nonce().await, nonce_before);

    // Third process: broadcasts A again as recorded, finds B mined behind it, sends C.
    let third = s.sender(patient()).await;
    settle_all(&third).await;
    for (intent, job) in intents.iter().zip(&jobs) {
        let stored = s.intent(&intent.key).await;
        assert_eq!(stored.state, IntentState::Confirmed, "{stored:?}");
        let txs = s.db.outbox_txs(stored.id).await.unwrap();
        assert_eq!(txs.len(), 1, "{txs:?}");
        assert_eq!(stored.tx_hash.as_deref(), Some(txs[0].tx_hash.as_str()));
        assert_eq!(s.job_state(*job).await, JobState::Expired);
    }
    assert_eq!(s.intent(&intents[0].key).await.tx_hash, Some(a.tx_hash));
    assert_eq!(s.intent(&intents[1].key).await.tx_hash, Some(b.tx_hash));
    assert_eq!(s.mined_nonce().await, nonce_before + 3);

    // A fourth process finds nothing to do.
    let fourth = s.sender(patient()).await;
    assert_eq!(fourth.run_once().await.unwrap(), Default::default());
    assert_eq!(s.mined_nonce().await, nonce_before + 3);
}

async fn reverts_fail_the_intent_and_later_intents_go_on(backend: Backend) {
    let Some(s) = Setup::new(backend).await else {
        return;
    };
    let expirable = s.expirable_jobs(2).await;
    let not_yet = s.open_jobs(1, "open").await[0];
    let sender = s.sender(patient()).await;
    let nonce_before = s.mined_nonce().await;
    let market = s.devnet.market();

    // Refused at gas estimation: failed with the decoded reason, no nonce used.
    let early = Intent::expire_job(market, not_yet);
    s.enqueue(&sender, &early).await;
    // Mined and reverted: the same call as `first` under another key. Both are signed before either is
    // broadcast (the node estimates gas on its pending state, which would refuse the second otherwise), so the
    // second meets the job already expired.
    let first = Intent::expire_job(market, expirable[0]);
    let again = Intent {
        key: format!("{}:again", first.key),
        ..first.clone()
    };
    s.enqueue(&sender, &first).await;
    s.enqueue(&sender, &again).await;

    let mut round = Round::default();
    let first_tx = sender.sign_next(&mut round).await.unwrap().unwrap();
    assert_eq!(round.failed, 1, "{round:?}");
    let again_tx = sender.sign_next(&mut round).await.unwrap().unwrap();
    assert_eq!(again_tx.nonce, first_tx.nonce + 1);
    assert_eq!(
        sender.broadcast(&first_tx).await.unwrap(),
        Broadcast::Accepted
    );
    assert_eq!(
        sender.broadcast(&again_tx).await.unwrap(),
        Broadcast::Accepted
    );

    // A later intent goes through behind both.
    let later = Intent::expire_job(market, expirable[1]);
    s.enqueue(&sender, &later).await;
    settle_all(&sender).await;

    let stored = s.intent(&early.key).await;
    assert_eq!(stored.state, IntentState::Failed, "{stored:?}");
    let reason = stored.error.clone().unwrap();
    assert!(reason.contains("DeadlineNotReached"), "{reason}");
    assert_eq!((stored.nonce, stored.tx_hash), (None, None));
    assert!(s.db.outbox_txs(stored.id).await.unwrap().is_empty());

    assert_eq!(s.intent(&first.key).await.state, IntentState::Confirmed);
    let stored = s.intent(&again.key).await;
    assert_eq!(stored.state, IntentState::Failed, "{stored:?}");
    let reason = stored.error.clone().unwrap();
    assert!(reason.contains("NothingToExpire"), "{reason}");
    assert!(
        stored.tx_hash.is_some() && stored.block_number.is_some(),
        "{stored:?}"
    );

    assert_eq!(s.intent(&later.key).await.state, IntentState::Confirmed);
    assert_eq!(s.job_state(not_yet).await, JobState::Open);
    assert_eq!(s.job_state(expirable[1]).await, JobState::Expired);
    // `first`, `again` (mined, reverted) and `later`; the refused one used no nonce.
    assert_eq!(s.mined_nonce().await, nonce_before + 3);

    // The one refused at estimation may be queued again once its call is due; the mined revert may not.
    assert!(!sender.retry_unsent(&again.key).await.unwrap());
    s.devnet.advance_time(3601).await.unwrap();
    assert!(sender.retry_unsent(&early.key).await.unwrap());
    settle_all(&sender).await;
    assert_eq!(s.intent(&early.key).await.state, IntentState::Confirmed);
    assert_eq!(s.job_state(not_yet).await, JobState::Expired);
    assert_eq!(s.intent(&again.key).await.state, IntentState::Failed);
    assert_eq!(s.mined_nonce().await, nonce_before + 4);
}

async fn nonce_used_elsewhere_supersedes_the_intent(backend: Backend) {
    let Some(s) = Setup::new(backend).await else {
        return;
    };
    let jobs = s.expirable_jobs(2).await;
    let sender = s.sender(patient()).await;
    let nonce_before = s.mined_nonce().await;
    let taken = Intent::expire_job(s.devnet.market(), jobs[0]);
    s.enqueue(&sender, &taken).await;
    let tx = sender
        .sign_next(&mut Round::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tx.nonce, nonce_before as i64);

    // Before it is broadcast, the same key sends something else with that nonce.
    let elsewhere = s.devnet.client(SENDER).await.unwrap();
    elsewhere.approve(U256::from(1)).await.unwrap();
    assert_eq!(sender.broadcast(&tx).await.unwrap(), Broadcast::NonceTooLow);

    let round = sender.run_once().await.unwrap();
    assert_eq!((round.superseded, round.in_flight), (1, 0), "{round:?}");
    let stored = s.intent(&taken.key).await;
    assert_eq!(stored.state, IntentState::Superseded, "{stored:?}");
    assert!(stored.error.unwrap().contains("used by a transaction"));
    assert_eq!(s.job_state(jobs[0]).await, JobState::Open);

    // The next intent takes the next free nonce.
    let next = Intent::expire_job(s.devnet.market(), jobs[1]);
    s.enqueue(&sender, &next).await;
    settle_all(&sender).await;
    let stored = s.intent(&next.key).await;
    assert_eq!(stored.state, IntentState::Confirmed, "{stored:?}");
    assert_eq!(stored.nonce, Some(nonce_before as i64 + 1));
    assert_eq!(s.mined_nonce().await, nonce_before + 2);
}

async fn run_loop_settles_intents_until_shutdown(backend: Backend) {
    let Some(s) = Setup::new(backend).await else {
        return;
    };
    let jobs = s.expirable_jobs(2).await;
    let sender = s
        .sender(SenderConfig {
            poll_interval_ms: 10,
            ..patient()
        })
        .await;
    let nonce_before = s.mined_nonce().await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let keeper = async {
        // Enqueued while the loop runs, as the keeper will.
        for &job in &jobs {
            s.enqueue(&sender, &Intent::expire_job(s.devnet.market(), job))
                .await;
        }
        for _ in 0..500 {
            if s.db.outbox_count(IntentState::Confirmed).await.unwrap() == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        stop.send(()).unwrap();
    };
    tokio::join!(
        sender.run(async {
            let _ = stopped.await;
        }),
        keeper
    );
    assert_eq!(s.db.outbox_count(IntentState::Confirmed).await.unwrap(), 2);
    for &job in &jobs {
        assert_eq!(s.job_state(job).await, JobState::Expired);
    }
    assert_eq!(s.mined_nonce().await, nonce_before + 2);
}
