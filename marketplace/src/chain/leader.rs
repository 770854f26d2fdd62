//! Leader election: of several replicas sharing one database, exactly one runs the leader tasks (the chain
//! indexer; later the settlement sender) at a time.
//!
//! - PostgreSQL: a replica leads while it holds the session advisory lock [`LEADER_LOCK_KEY`], taken with
//!   `pg_try_advisory_lock` on a dedicated connection (application name [`LEADER_APPLICATION_NAME`]) outside the
//!   pool. The lock lives as long as that connection: when the replica stops, crashes, or its connection dies, the
//!   server releases it and another replica's next attempt takes it. The leader checks its connection every
//!   check interval and stops its tasks as soon as the check fails.
//! - SQLite: the database belongs to one process, which always leads.
//!
//! Between a leader losing its connection and noticing it, the new leader may already run: tasks must fence their
//! own writes. The indexer does, by moving its cursor with a compare-and-set in the transaction of each batch.
//!
//! ```no_run
//! # async fn demo(db: tern_marketplace::db::Database) {
//! use tern_marketplace::chain::leader::Leader;
//! use tokio_util::sync::CancellationToken;
//!
//! let leader = Leader::new(db).task("heartbeat", |stop: CancellationToken| async move {
//!     // Runs only while this replica leads; `stop` fires when it stops leading or shuts down.
//!     stop.cancelled().await;
//! });
//! let status = leader.status();
//! let shutdown = CancellationToken::new();
//! tokio::spawn(leader.run(shutdown.clone()));
//! println!("leading: {}", status.is_leader());
//! # }
//! ```

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::db::Database;

/// The PostgreSQL advisory lock key of the leader ("ternlead" in ASCII).
pub const LEADER_LOCK_KEY: i64 = 0x7465_726e_6c65_6164;

/// The application name of the connection that holds the leader lock (visible in `pg_stat_activity`).
pub const LEADER_APPLICATION_NAME: &str = "tern-marketplace-leader";

/// Whether this replica leads now; cheap to clone and to read.
#[derive(Debug, Clone)]
pub struct LeaderStatus(watch::Receiver<bool>);

impl LeaderStatus {
    /// A status that never leads (no election runs).
    pub fn never() -> Self {
        Self(watch::channel(false).1)
    }

    /// Whether this replica leads now.
    pub fn is_leader(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits until this replica leads (`true`) or does not (`false`).
    pub async fn wait_for(&mut self, leading: bool) {
        // An error means the election ended: then it no longer leads.
        let _ = self.0.wait_for(|&now| now == leading).await;
    }
}

type TaskFn = Arc<dyn Fn(CancellationToken) -> BoxFuture<'static, ()> + Send + Sync>;

/// Runs its tasks while this replica leads.
pub struct Leader {
    db: Database,
    check_interval: Duration,
    tasks: Vec<(String, TaskFn)>,
    status: watch::Sender<bool>,
}

impl std::fmt::Debug for Leader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leader")
            .field("check_interval", &self.check_interval)
            .field(
                "tasks",
                &self.tasks.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Why leading ended.
enum Ended {
    Shutdown,
    Lost,
}

impl Leader {
    /// An election over `db`, with no tasks yet and a check every second.
    pub fn new(db: Database) -> Self {
        Self {
            db,
            check_interval: Duration::from_secs(1),
            tasks: Vec::new(),
            status: watch::channel(false).0,
        }
    }

    /// How often a follower tries to take the lock and the leader checks that it still holds it.
    pub fn check_interval(mut self, interval: Duration) -> Self {
        self.check_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Adds a task run while leading: `task(stop)` is started when this replica becomes leader; `stop` is
    /// cancelled when it stops leading or shuts down, and the task must then return promptly. A task that returns
    /// on its own while leading is started again after a second.
    pub fn task<F, Fut>(mut self, name: impl Into<String>, task: F) -> Self
    where
        F: Fn(CancellationToken) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let task: TaskFn = Arc::new(move |stop| Box::pin(task(stop)));
        self.tasks.push((name.into(), task));
        self
    }

    /// Whether this replica leads, as it changes.
    pub fn status(&self) -> LeaderStatus {
        LeaderStatus(self.status.subscribe())
    }

    /// Takes part in the election until `stop` is cancelled; runs the tasks while leading. On return, the tasks
    /// have stopped and the lock is released.
    pub async fn run(self, stop: CancellationToken) {
        match self.db.clone() {
            Database::Sqlite(_) => {
                // One process owns a SQLite file: it leads from the start.
                let ended = self.lead(&stop, None).await;
                debug_assert!(matches!(ended, Ended::Shutdown));
            }
            Database::Postgres(pool) => self.run_postgres(&pool, &stop).await,
        }
    }

    async fn run_postgres(&self, pool: &PgPool, stop: &CancellationToken) {
        let options = pool
            .connect_options()
            .as_ref()
            .clone()
            .application_name(LEADER_APPLICATION_NAME)
            .disable_statement_logging();
        let mut follower: Option<PgConnection> = None;
        while !stop.is_cancelled() {
            let attempt = async {
                let conn = match follower.take() {
                    Some(conn) => conn,
                    None => PgConnection::connect_with(&options).await?,
                };
                let mut conn = conn;
                let acquired: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(LEADER_LOCK_KEY)
                    .fetch_one(&mut conn)
                    .await?;
                Ok::<_, sqlx::Error>((acquired, conn))
            };
            let attempt = tokio::select! {
                () = stop.cancelled() => break,
                attempt = attempt => attempt,
            };
            match attempt {
                Ok((true, conn)) => {
                    tracing::info!("took the leader lock: this replica leads");
                    let mut conn = Some(conn);
                    match self.lead(stop, conn.as_mut()).await {
                        Ended::Shutdown => {
                            if let Some(mut conn) = conn {
                                let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                                    .bind(LEADER_LOCK_KEY)
                                    .execute(&mut conn)
                                    .await;
                                let _ = conn.close().await;
                            }
                            return;
                        }
                        Ended::Lost => {
                            tracing::warn!(
                                "lost the leader connection: this replica no longer leads"
                            );
                            // Dropping the connection ends its session (and any lock it might still hold).
                            drop(conn);
                        }
                    }
                }
                // Another replica leads; keep the connection for the next attempt.
                Ok((false, conn)) => follower = Some(conn),
                Err(err) => {
                    tracing::warn!(error = %err, "leader election: cannot reach the database")
                }
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(self.check_interval) => {}
            }
        }
        if let Some(conn) = follower {
            let _ = conn.close().await;
        }
    }

    /// Leads: runs the tasks until shutdown or, with a lock connection, until it fails a check.
    async fn lead(&self, stop: &CancellationToken, mut lock: Option<&mut PgConnection>) -> Ended {
        let _ = self.status.send_replace(true);
        metrics::gauge!("tern_market_leader").set(1.0);
        let tasks_stop = stop.child_token();
        let handles: Vec<_> = self
            .tasks
            .iter()
            .map(|(name, task)| {
                tokio::spawn(supervise(name.clone(), task.clone(), tasks_stop.clone()))
            })
            .collect();
        let ended = loop {
            tokio::select! {
                () = stop.cancelled() => break Ended::Shutdown,
                () = tokio::time::sleep(self.check_interval) => {}
            }
            if let Some(conn) = lock.as_deref_mut() {
                let timeout = self.check_interval.max(Duration::from_secs(5));
                let alive =
                    tokio::time::timeout(timeout, sqlx::query("SELECT 1").execute(conn)).await;
                if !matches!(alive, Ok(Ok(_))) {
                    break Ended::Lost;
                }
            }
        };
        tasks_stop.cancel();
        for handle in handles {
            let _ = handle.await;
        }
        let _ = self.status.send_replace(false);
        metrics::gauge!("tern_market_leader").set(0.0);
        ended
    }
}

/// Runs `task` until `stop`, starting it again if it returns early.
async fn supervise(name: String, task: TaskFn, stop: CancellationToken) {
    tracing::debug!(task = %name, "leader task starting");
    loop {
        task(stop.clone()).await;
        if stop.is_cancelled() {
            break;
        }
        tracing::warn!(task = %name, "leader task ended while leading; starting it again in 1 s");
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    tracing::debug!(task = %name, "leader task stopped");
}
