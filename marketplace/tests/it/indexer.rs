//! The chain indexer against a real anvil, on SQLite and PostgreSQL: a lifecycle mirrored, restarts, confirmations,
//! reorgs, and two indexers racing on one database.

use std::collections::HashSet;

use alloy::primitives::U256;
use alloy::providers::Provider;
use tern_contracts::devnet::{self, Role};
use tern_marketplace::chain::{Indexer, SyncStep};
use tern_marketplace::db::Database;
use tokio_util::sync::CancellationToken;

use crate::chain_util::{Chain, assert_mirrors, eventually, job_hex};
use crate::on_both_backends;
use crate::util::{Backend, TestApp, TestDb};

on_both_backends!(
    mirrors_a_lifecycle,
    restart_resumes_exactly_once,
    every_step_is_a_safe_stopping_point,
    confirmations_hold_events_back,
    reorg_rolls_the_view_back,
    racing_indexers_apply_each_event_once,
);

#[tokio::test]
async fn rpc_url_without_market_address_is_a_startup_error() {
    let test_db = TestDb::new(Backend::Sqlite).await.unwrap();
    let blobs = tempfile::tempdir().unwrap();
    let config = tern_marketplace::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        blob_dir: blobs.path().to_path_buf(),
        database_url: test_db.url.clone(),
        rpc_url: Some("http://127.0.0.1:8545".to_string()),
        ..tern_marketplace::Config::default()
    };
    let err = tern_marketplace::Server::bind(config).await.unwrap_err();
    assert!(err.to_string().contains("market_address"), "{err}");
}

/// Checks that every market log up to the cursor is applied exactly once, and nothing else is.
async fn assert_exactly_once(chain: &Chain, db: &Database) {
    let cursor = db
        .chain_cursor()
        .await
        .unwrap()
        .expect("a cursor")
        .block_number;
    let applied = db.applied_event_positions().await.unwrap();
    let unique: HashSet<_> = applied.iter().collect();
    assert_eq!(unique.len(), applied.len(), "an event is applied twice");
    assert_eq!(applied, chain.log_positions(cursor).await);
}

async fn mirrors_a_lifecycle(backend: Backend) {
    let Some(test_db) = TestDb::new(backend).await else {
        return;
    };
    let db = Database::connect(&test_db.url).await.unwrap();
    let chain = Chain::start().await;
    let indexer = Indexer::new(db.clone(), chain.indexer_config(0)).unwrap();

    // A claim that runs out of time while the job is still open: back to Open, worker cleared.
    let mut params = chain.params("short", 100_000_000).await;
    params.train_duration = 60;
    let short = chain.create_job_from(&chain.requester, &params).await;
    indexer.sync_to_head().await.unwrap();
    assert_mirrors(&db, &chain.requester, short).await;
    chain.stake_worker(1).await;
    chain.worker.claim_job(short).await.unwrap();
    indexer.sync_to_head().await.unwrap();
    assert_mirrors(&db, &chain.requester, short).await;
    let claimed = db.job(&job_hex(short)).await.unwrap().unwrap();
    assert_eq!(claimed.state, "claimed");
    assert_eq!(
        claimed.worker.as_deref(),
        Some(alloy::hex::encode_prefixed(chain.worker.sender()).as_str())
    );
    chain.devnet.advance_time(61).await.unwrap();
    chain.requester.expire_job(short).await.unwrap();
    indexer.sync_to_head().await.unwrap();
    assert_mirrors(&db, &chain.requester, short).await;
    let reopened = db.job(&job_hex(short)).await.unwrap().unwrap();
    assert_eq!((reopened.state.as_str(), reopened.worker), ("open", None));

    // A whole honest job to payout.
    let report = devnet::honest_scenario(&chain.devnet).await.unwrap();
    indexer.sync_to_head().await.unwrap();
    assert_mirrors(&db, &chain.requester, report.job_id).await;
    let job = db.job(&job_hex(report.job_id)).await.unwrap().unwrap();
    assert_eq!(job.state, "finalized");
    assert_eq!(job.audit_intervals.len(), 3);
    assert_eq!(job.revealed_start_hashes.len(), 3);
    assert_eq!(job.attested_indexes, vec![0, 1, 2]);
    let verifier = alloy::hex::encode_prefixed(chain.devnet.address(Role::Verifier));
    assert_eq!(job.verifiers, vec![verifier.clone(); 3]);
    assert!(job.trace_root.is_some() && job.adapter_hash.is_some());

    // The timeline: the job's own logs, in chain order, with their states.
    let events = db.job_events(&job_hex(report.job_id)).await.unwrap();
    let positions: Vec<_> = events
        .iter()
        .map(|e| (e.block_number, e.log_index))
        .collect();
    assert_eq!(positions, chain.job_log_positions(report.job_id).await);
    let mut states: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "JobStateChanged")
        .map(|e| e.data["state"].as_str().unwrap().to_string())
        .collect();
    // The reveal emits Auditing again, with the attest deadline.
    states.dedup();
    assert_eq!(
        states,
        [
            "open",
            "claimed",
            "submitted",
            "auditing",
            "verified",
            "finalized"
        ]
    );
    assert_eq!(events[0].kind, "JobCreated");
    assert_eq!(events[0].data["reward"], "100000000");

    // Earnings: the verifier's fees were credited for this job, then withdrawn.
    let verifier_events = db.account_events(&verifier).await.unwrap();
    let kinds: Vec<_> = verifier_events.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        kinds.starts_with(&["Staked", "VerifierPoolJoined"]),
        "{kinds:?}"
    );
    let credited: Vec<_> = verifier_events
        .iter()
        .filter(|e| e.kind == "Credited")
        .collect();
    assert_eq!(credited.len(), 1);
    assert_eq!(
        credited[0].job_id.as_deref(),
        Some(job_hex(report.job_id).as_str())
    );
    assert_eq!(credited[0].amount.as_deref(), Some("6000000"));
    assert_eq!(kinds.last(), Some(&"Withdrawn"));
    assert_exactly_once(&chain, &db).await;
}

async fn restart_resumes_exactly_once(backend: Backend) {
    let Some(test_db) = TestDb::new(backend).await else {
        return;
    };
    let chain = Chain::start().await;
    let db = Database::connect(&test_db.url).await.unwrap();
    let first = chain.create_jobs(2, "before").await;
    let app = TestApp::on(&test_db.url, chain.server_config(0)).await;
    let (db_ref, first_ref) = (&db, &first);
    eventually("the first jobs to be indexed", || async move {
        for id in first_ref {
            db_ref.job(&job_hex(*id)).await.unwrap()?;
        }
        Some(())
    })
    .await;
    app.stop().await;

    // While no indexer runs: more jobs, and a claim of an indexed one.
    let later = chain.create_jobs(3, "while-down").await;
    chain.stake_worker(1).await;
    chain.worker.claim_job(first[0]).await.unwrap();
    let head = chain.head().await;

    let app = TestApp::on(&test_db.url, chain.server_config(0)).await;
    eventually("the restarted indexer to catch up", || async move {
        let cursor = db_ref.chain_cursor().await.unwrap()?;
        (cursor.block_number >= head).then_some(())
    })
    .await;
    for id in first.iter().chain(&later) {
        assert_mirrors(&db, &chain.requester, *id).await;
    }
    assert_eq!(
        db.job(&job_hex(first[0])).await.unwrap().unwrap().state,
        "claimed"
    );
    assert_exactly_once(&chain, &db).await;
    app.stop().await;
}

async fn every_step_is_a_safe_stopping_point(backend: Backend) {
    let Some(test_db) = TestDb::new(backend).await else {
        return;
    };
    let chain = Chain::start().await;
    let db = Database::connect(&test_db.url).await.unwrap();
    let ids = chain.create_jobs(3, "step").await;
    let mut config = chain.indexer_config(0);
    // One block per batch, and a new indexer (a restarted process) for every step.
    config.max_block_range = 1;
    let mut steps = 0;
    loop {
        let indexer = Indexer::new(db.clone(), config.clone()).unwrap();
        let step = indexer.sync_once().await.unwrap();
        steps += 1;
        if steps == 4 {
            // Midway: more blocks arrive while "down".
            chain.create_jobs(2, "midway").await;
        }
        if matches!(step, SyncStep::Idle { .. }) && steps > 4 {
            break;
        }
    }
    assert!(steps > 8, "one block per step: {steps} steps");
    for id in &ids {
        assert_mirrors(&db, &chain.requester, *id).await;
    }
    assert_exactly_once(&chain, &db).await;
}

async fn confirmations_hold_events_back(backend: Backend) {
    let Some(test_db) = TestDb::new(backend).await else {
        return;
    };
    let chain = Chain::start().await;
    let db = Database::connect(&test_db.url).await.unwrap();
    let indexer = Indexer::new(db.clone(), chain.indexer_config(3)).unwrap();
    let id = chain.create_jobs(1, "confirm").await[0];
    let created_in = chain.head().await;
    let hex = job_hex(id);

    // 0, 1 and 2 blocks on top: not applied; the cursor stops 3 blocks below the head.
    for mined in 0..3 {
        let cursor = indexer.sync_to_head().await.unwrap().unwrap();
        assert_eq!(cursor, created_in + mined - 3);
        assert!(
            db.job(&hex).await.unwrap().is_none(),
            "applied with {mined} confirmations"
        );
        chain.devnet.mine(1).await.unwrap();
    }
    // The third block on top.
    let cursor = indexer.sync_to_head().await.unwrap().unwrap();
    assert_eq!(cursor, created_in);
    assert_mirrors(&db, &chain.requester, id).await;
}

async fn reorg_rolls_the_view_back(backend: Backend) {
    let Some(test_db) = TestDb::new(backend).await else {
        return;
    };
    let chain = Chain::start().await;
    let db = Database::connect(&test_db.url).await.unwrap();
    let indexer = Indexer::new(db.clone(), chain.indexer_config(0)).unwrap();
    let kept = chain.create_jobs(1, "kept").await[0];
    let provider = chain.requester.provider();
    let snapshot: U256 = provider
        .raw_request("evm_snapshot".into(), ())
        .await
        .unwrap();

    // Two jobs on the branch that will be dropped; the second one is claimed.
    let dropped = chain.create_jobs(2, "dropped").await;
    chain.stake_worker(1).await;
    chain.worker.claim_job(dropped[0]).await.unwrap();
    indexer.sync_to_head().await.unwrap();
    let old_head = chain.head().await;
    assert_eq!(
        db.job(&job_hex(dropped[0])).await.unwrap().unwrap().state,
        "claimed"
    );
    assert!(db.job(&job_hex(dropped[1])).await.unwrap().is_some());

    // The chain drops those blocks and mines others: one job (job ids count up, so it gets the first dropped id,
    // with another spec) and empty blocks past the old head.
    let reverted: bool = provider
        .raw_request("evm_revert".into(), (snapshot,))
        .await
        .unwrap();
    assert!(reverted);
    let params = chain.params("replacement", 42_000_000).await;
    let replacement = chain.create_job_from(&chain.requester, &params).await;
    assert_eq!(replacement, dropped[0]);
    let head = chain.head().await;
    chain.devnet.mine(old_head + 2 - head).await.unwrap();

    let mut rolled_back = false;
    loop {
        match indexer.sync_once().await.unwrap() {
            SyncStep::RolledBack { to, events } => {
                rolled_back = true;
                assert!(to.unwrap() < old_head && events > 0, "{to:?} {events}");
            }
            SyncStep::Idle { .. } => break,
            _ => {}
        }
    }
    assert!(rolled_back, "the reorg was not detected");
    assert_mirrors(&db, &chain.requester, kept).await;
    assert_mirrors(&db, &chain.requester, replacement).await;
    let job = db.job(&job_hex(replacement)).await.unwrap().unwrap();
    assert_eq!((job.state.as_str(), job.worker.as_deref()), ("open", None));
    assert_eq!(job.spec_hash, alloy::hex::encode_prefixed(params.spec_hash));
    assert_eq!(job.reward, "42000000");
    assert!(
        db.job(&job_hex(dropped[1])).await.unwrap().is_none(),
        "the dropped job is still there"
    );
    let events = db.job_events(&job_hex(replacement)).await.unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| (e.block_number, e.log_index))
            .collect::<Vec<_>>(),
        chain.job_log_positions(replacement).await
    );
    // The worker's stake from the dropped branch is gone too.
    let worker = alloy::hex::encode_prefixed(chain.worker.sender());
    assert!(db.account_events(&worker).await.unwrap().is_empty());
    assert_exactly_once(&chain, &db).await;
}

async fn racing_indexers_apply_each_event_once(backend: Backend) {
    let Some(test_db) = TestDb::new(backend).await else {
        return;
    };
    let chain = Chain::start().await;
    let db = Database::connect(&test_db.url).await.unwrap();
    // No leader election here: two indexers on one database, as when a deposed leader has not noticed yet.
    let stop = CancellationToken::new();
    let mut config = chain.indexer_config(0);
    config.max_block_range = 2;
    let mut runs = Vec::new();
    for _ in 0..2 {
        let indexer = Indexer::new(db.clone(), config.clone()).unwrap();
        let stop = stop.clone();
        runs.push(tokio::spawn(async move { indexer.run(stop).await }));
    }
    let ids = chain.create_jobs(6, "race").await;
    let head = chain.head().await;
    let db_ref = &db;
    eventually("the indexers to catch up", || async move {
        let cursor = db_ref.chain_cursor().await.unwrap()?;
        (cursor.block_number >= head).then_some(())
    })
    .await;
    stop.cancel();
    for run in runs {
        run.await.unwrap();
    }
    for id in &ids {
        assert_mirrors(&db, &chain.requester, *id).await;
    }
    assert_exactly_once(&chain, &db).await;
}
