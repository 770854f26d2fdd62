//! Leader election: on PostgreSQL, of several replicas sharing one database exactly one runs the indexer, and
//! another takes over when the leader's lock connection dies or the leader stops; on SQLite the process leads.

use serde_json::Value;
use sqlx::{Connection, PgConnection};
use tern_marketplace::chain::leader::LEADER_APPLICATION_NAME;
use tern_marketplace::db::Database;

use crate::chain_util::{Chain, assert_mirrors, eventually};
use crate::util::{Backend, TestApp, TestDb};

/// Whether each server says it leads.
async fn leaders(apps: &[TestApp]) -> Vec<bool> {
    let mut flags = Vec::new();
    for app in apps {
        let health: Value = app
            .client
            .get(app.url("/v1/health"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        flags.push(health["leader"].as_bool().expect("health has `leader`"));
    }
    flags
}

/// Waits until exactly one server leads; returns its index.
async fn the_leader(apps: &[TestApp]) -> usize {
    eventually("exactly one leader", || async move {
        let flags = leaders(apps).await;
        (flags.iter().filter(|&&f| f).count() == 1).then(|| flags.iter().position(|&f| f).unwrap())
    })
    .await
}

/// The backend pid of the connection holding the leader lock in the database at `url`, if one holds it.
async fn lock_holder(url: &str) -> Option<i32> {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let pid = sqlx::query_scalar(
        "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database() \
         AND a.application_name = $1",
    )
    .bind(LEADER_APPLICATION_NAME)
    .fetch_optional(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    pid
}

/// Waits until the indexer's cursor reaches `head`.
async fn caught_up(db: &Database, head: u64) {
    eventually("the indexer to reach the head", || async move {
        let cursor = db.chain_cursor().await.unwrap()?;
        (cursor.block_number >= head).then_some(())
    })
    .await;
}

async fn assert_exactly_once(chain: &Chain, db: &Database) {
    let cursor = db.chain_cursor().await.unwrap().unwrap().block_number;
    assert_eq!(
        db.applied_event_positions().await.unwrap(),
        chain.log_positions(cursor).await
    );
}

#[tokio::test]
async fn sqlite_process_always_leads() {
    let app = TestApp::start().await;
    the_leader(std::slice::from_ref(&app)).await;
}

#[tokio::test]
async fn postgres_replicas_elect_one_leader_without_an_indexer() {
    let Some(test_db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let mut apps = Vec::new();
    for _ in 0..3 {
        apps.push(TestApp::on(&test_db.url, |c| c.leader_check_ms = 100).await);
    }
    let first = the_leader(&apps).await;
    assert!(lock_holder(&test_db.url).await.is_some());
    apps.swap_remove(first).stop().await;
    the_leader(&apps).await;
    for app in apps {
        app.stop().await;
    }
    assert_eq!(
        lock_holder(&test_db.url).await,
        None,
        "stopped replicas release the lock"
    );
}

#[tokio::test]
async fn postgres_failover_continues_without_repeating_events() {
    let Some(test_db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let chain = Chain::start().await;
    let db = Database::connect(&test_db.url).await.unwrap();
    let mut apps = vec![
        TestApp::on(&test_db.url, chain.server_config(0)).await,
        TestApp::on(&test_db.url, chain.server_config(0)).await,
    ];
    the_leader(&apps).await;
    let mut ids = chain.create_jobs(2, "first").await;
    caught_up(&db, chain.head().await).await;

    // The leader's lock connection dies (as when its database connection breaks): a replica takes the lock
    // again, a new connection, and indexing goes on.
    let killed = lock_holder(&test_db.url)
        .await
        .expect("the leader holds the lock");
    let mut admin = PgConnection::connect(&test_db.url).await.unwrap();
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(killed)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(terminated);
    admin.close().await.unwrap();
    ids.extend(chain.create_jobs(2, "after-kill").await);
    let url = test_db.url.as_str();
    eventually("a new lock holder", || async move {
        lock_holder(url).await.filter(|&pid| pid != killed)
    })
    .await;
    the_leader(&apps).await;
    caught_up(&db, chain.head().await).await;
    assert_exactly_once(&chain, &db).await;

    // The leader stops: the other replica takes over.
    let leader = the_leader(&apps).await;
    apps.swap_remove(leader).stop().await;
    assert_eq!(the_leader(&apps).await, 0);
    ids.extend(chain.create_jobs(2, "after-stop").await);
    chain.stake_worker(1).await;
    chain.worker.claim_job(ids[0]).await.unwrap();
    caught_up(&db, chain.head().await).await;
    for id in &ids {
        assert_mirrors(&db, &chain.requester, *id).await;
    }
    assert_exactly_once(&chain, &db).await;
    for app in apps {
        app.stop().await;
    }
}

/// Posts a job whose claim deadline passes after 60 s of chain time; returns its id.
async fn short_lived_job(chain: &Chain, tag: &str) -> alloy::primitives::U256 {
    let mut params = chain.params(tag, 1_000_000).await;
    params.open_until = chain.devnet.timestamp().await.unwrap() + 60;
    chain.create_job_from(&chain.requester, &params).await
}

#[tokio::test]
async fn postgres_settlement_fails_over_without_sending_twice() {
    let Some(test_db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let chain = Chain::start().await;
    let db = Database::connect(&test_db.url).await.unwrap();
    let service = chain
        .devnet
        .signer(tern_contracts::devnet::Role::Deployer)
        .unwrap();
    let key = alloy::hex::encode(service.to_bytes());
    let with_sender = |base: Box<dyn FnOnce(&mut tern_marketplace::Config)>| {
        let key = key.clone();
        move |config: &mut tern_marketplace::Config| {
            base(config);
            config.sender_key = Some(tern_marketplace::chain::sender::SenderKey::new(key));
            config.sender.poll_interval_ms = 100;
        }
    };
    let mut apps = vec![
        TestApp::on(&test_db.url, with_sender(Box::new(chain.server_config(0)))).await,
        TestApp::on(&test_db.url, with_sender(Box::new(chain.server_config(0)))).await,
    ];
    the_leader(&apps).await;
    let provider = alloy::providers::ProviderBuilder::new()
        .connect_http(chain.devnet.endpoint().parse().unwrap());
    let sent = async || {
        use alloy::providers::Provider;
        provider
            .get_transaction_count(service.address())
            .await
            .unwrap()
    };
    let before = sent().await;
    let expired = async |id| {
        let db = &db;
        eventually("the keeper's expiry", || async move {
            let job = db.job(&crate::chain_util::job_hex(id)).await.unwrap()?;
            (job.state == "expired").then_some(())
        })
        .await;
    };

    // The leader's keeper expires a stalled job.
    let first = short_lived_job(&chain, "stalled-1").await;
    chain.devnet.advance_time(120).await.unwrap();
    expired(first).await;

    // The leader stops; the other replica's keeper and sender take over, with the same outbox and nonces.
    let leader = the_leader(&apps).await;
    apps.swap_remove(leader).stop().await;
    assert_eq!(the_leader(&apps).await, 0);
    let second = short_lived_job(&chain, "stalled-2").await;
    chain.devnet.advance_time(120).await.unwrap();
    expired(second).await;

    // One transaction per stalled job, across both replicas, however long they keep looking.
    for _ in 0..10 {
        chain.devnet.mine(1).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(sent().await - before, 2);
    for app in apps {
        app.stop().await;
    }
}
