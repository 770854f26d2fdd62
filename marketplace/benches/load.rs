//! Load on the marketplace's HTTP API over loopback, SQLite and PostgreSQL side by side.
//!
//! `cargo bench -p tern-marketplace --bench load` seeds a jobs table (10,000 jobs by default), starts the real
//! [`Server`] in this process and drives it with a fixed number of keep-alive HTTP/1 connections for a fixed time,
//! for each scenario and backend:
//!
//! - `list`: `GET /v1/jobs` (the default page, 50 jobs, newest first);
//! - `list_open`: `GET /v1/jobs?state=open`;
//! - `progress`: `POST /v1/jobs/{id}/progress`, each connection as its own worker (signed in through the real
//!   `/v1/auth/nonce` and `/v1/auth/login`) reporting steps of the jobs it claimed.
//!
//! It prints one row per scenario, backend and connection count: requests, req/s, p50, p99 and max latency, and
//! errors (anything but a 2xx; they must be 0, and the run fails otherwise).
//!
//! Options (after `--`): `--quick` (2 s per row, 0.5 s warm-up), `--duration SECS` (10), `--warmup SECS` (2),
//! `--connections N[,N...]` (32), `--jobs N` (10000), `--backends sqlite,postgres`, `--scenarios
//! list,list_open,progress`, `--server-threads N` (the CPU count, as the binary's runtime), `--postgres-url URL`
//! (an admin URL; `TERN_BENCH_POSTGRES_URL`, else the local server with trust auth). PostgreSQL is skipped, with a
//! message, when it cannot be reached.
//!
//! Why in-process rather than the `marketplace` binary as a child: the server runs on a tokio runtime of its own
//! (its own worker threads, like the binary's `#[tokio::main]`), the load generator on a separate single-threaded
//! runtime, so their work is separated the same way two processes would be, while the bench needs no build of
//! the binary, no port or readiness dance, and no request log on stderr (the binary logs every request at debug
//! by default, which would measure the terminal). The database server, when it is PostgreSQL, shares the cores too.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use alloy::primitives::Address;
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use sqlx::Connection;
use tern_marketplace::db::Database;
use tern_marketplace::{Config, JobList, LoginRequest, NonceIssued, Server, SessionOpened};

/// The local PostgreSQL server's admin database (trust auth), as the tests use it.
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Jobs each connection's worker has claimed and reports progress for.
const JOBS_PER_WORKER: usize = 4;
/// Steps of every seeded job: more than any run reports.
const TOTAL_STEPS: i64 = 1 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BackendKind {
    Sqlite,
    Postgres,
}

impl BackendKind {
    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    List,
    ListOpen,
    /// The list with the page cache out of play (no chain cursor): every request reads and encodes its page.
    ListUncached,
    Progress,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Self::List => "GET /v1/jobs",
            Self::ListOpen => "GET /v1/jobs?state=open",
            Self::ListUncached => "GET /v1/jobs, uncached",
            Self::Progress => "POST /v1/jobs/{id}/progress",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "list" => Some(Self::List),
            "list_open" => Some(Self::ListOpen),
            "list_uncached" => Some(Self::ListUncached),
            "progress" => Some(Self::Progress),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
struct Options {
    duration: Duration,
    warmup: Duration,
    connections: Vec<usize>,
    jobs: usize,
    backends: Vec<BackendKind>,
    scenarios: Vec<Scenario>,
    server_threads: usize,
    postgres_url: String,
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "load: {problem}\noptions: --quick --duration SECS --warmup SECS --connections N[,N...] --jobs N \
         --backends sqlite,postgres --scenarios list,list_open,list_uncached,progress --server-threads N --postgres-url URL"
    );
    std::process::exit(2);
}

fn parse_options() -> Options {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut options = Options {
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
        connections: vec![32],
        jobs: 10_000,
        backends: vec![BackendKind::Sqlite, BackendKind::Postgres],
        scenarios: vec![
            Scenario::List,
            Scenario::ListOpen,
            Scenario::ListUncached,
            Scenario::Progress,
        ],
        server_threads: cores,
        postgres_url: std::env::var("TERN_BENCH_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string()),
    };
    let mut args = std::env::args().skip(1);
    let secs = |v: Option<String>, flag: &str| {
        v.and_then(|v| v.parse::<f64>().ok())
            .filter(|s| *s > 0.0 && s.is_finite())
            .map(Duration::from_secs_f64)
            .unwrap_or_else(|| usage(&format!("{flag} needs a number of seconds")))
    };
    let count = |v: Option<String>, flag: &str| {
        v.and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or_else(|| usage(&format!("{flag} needs a positive number")))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // cargo bench passes `--bench` to every bench binary.
            "--bench" => {}
            "--quick" => {
                options.duration = Duration::from_secs(2);
                options.warmup = Duration::from_millis(500);
            }
            "--duration" => options.duration = secs(args.next(), "--duration"),
            "--warmup" => options.warmup = secs(args.next(), "--warmup"),
            "--jobs" => options.jobs = count(args.next(), "--jobs"),
            "--server-threads" => options.server_threads = count(args.next(), "--server-threads"),
            "--postgres-url" => {
                options.postgres_url = args
                    .next()
                    .unwrap_or_else(|| usage("--postgres-url needs a URL"));
            }
            "--connections" => {
                let list = args
                    .next()
                    .unwrap_or_else(|| usage("--connections needs N[,N...]"));
                options.connections = list
                    .split(',')
                    .map(|n| count(Some(n.to_string()), "--connections"))
                    .collect();
            }
            "--backends" => {
                let list = args
                    .next()
                    .unwrap_or_else(|| usage("--backends needs sqlite,postgres"));
                options.backends = list
                    .split(',')
                    .map(|b| match b {
                        "sqlite" => BackendKind::Sqlite,
                        "postgres" => BackendKind::Postgres,
                        _ => usage(&format!("unknown backend {b:?}")),
                    })
                    .collect();
            }
            "--scenarios" => {
                let list = args.next().unwrap_or_else(|| {
                    usage("--scenarios needs list,list_open,list_uncached,progress")
                });
                options.scenarios = list
                    .split(',')
                    .map(|s| {
                        Scenario::parse(s)
                            .unwrap_or_else(|| usage(&format!("unknown scenario {s:?}")))
                    })
                    .collect();
            }
            other => usage(&format!("unknown option {other:?}")),
        }
    }
    options
}

/// A small deterministic generator (splitmix64): the same seed seeds the same jobs in every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn hex(&mut self, bytes: usize) -> String {
        let mut out = String::from("0x");
        while out.len() < 2 + 2 * bytes {
            out.push_str(&format!("{:016x}", self.next()));
        }
        out.truncate(2 + 2 * bytes);
        out
    }
}

/// The wallet of connection `index`'s worker: a fixed key, so runs are repeatable.
fn worker_wallet(index: usize) -> PrivateKeySigner {
    let mut key = [0x42u8; 32];
    key[28..].copy_from_slice(&u32::try_from(index + 1).unwrap_or(u32::MAX).to_be_bytes());
    PrivateKeySigner::from_bytes(&key.into()).expect("a valid secp256k1 key")
}

/// An address as the database keeps it: `0x` and 40 lowercase hex digits.
fn address_key(address: Address) -> String {
    format!("0x{}", alloy::hex::encode(address.as_slice()))
}

/// One `jobs` row as the indexer's fold would leave it.
struct SeedJob {
    job_id: String,
    requester: String,
    worker: Option<String>,
    state: &'static str,
    deadline: i64,
    spec_hash: String,
    reward: String,
    verifier_fee: String,
    worker_bond: String,
    total_steps: i64,
    checkpoint_interval: i64,
    sample_count: i64,
    open_until: i64,
    trace_root: Option<String>,
    adapter_hash: Option<String>,
    anchor_block: Option<i64>,
    audit_seed: Option<String>,
    audit_intervals: String,
    verifiers: String,
    created_block: i64,
    created_log_index: i64,
    created_tx: String,
}

/// `count` jobs in a realistic mix of states, plus [`JOBS_PER_WORKER`] claimed jobs for each of `workers`; returns
/// the rows and each worker's job ids.
fn seed_jobs(count: usize, workers: &[String]) -> (Vec<SeedJob>, Vec<Vec<String>>) {
    // Weights in percent; the rest of the lifecycle is rarer than these.
    const STATES: [(&str, u64); 9] = [
        ("open", 30),
        ("claimed", 20),
        ("submitted", 10),
        ("auditing", 10),
        ("verified", 5),
        ("disputed", 2),
        ("finalized", 15),
        ("refunded", 4),
        ("expired", 4),
    ];
    let mut rng = Rng(0x7e57_10ad);
    let requesters: Vec<String> = (0..200).map(|_| rng.hex(20)).collect();
    let other_workers: Vec<String> = (0..100).map(|_| rng.hex(20)).collect();
    let mut per_worker = vec![Vec::new(); workers.len()];
    let mine_total = workers.len() * JOBS_PER_WORKER;
    let total = count + mine_total;
    let spread = (total / mine_total.max(1)).max(1);
    let mut jobs = Vec::with_capacity(total);
    for i in 0..total {
        // The workers' jobs are spread through the table, not bunched at one end.
        let k = i / spread;
        let mine = (i % spread == 0 && k < mine_total).then(|| k % workers.len());
        let state = match mine {
            Some(_) => "claimed",
            None => {
                let mut pick = rng.below(100);
                STATES
                    .iter()
                    .find(|(_, weight)| {
                        let hit = pick < *weight;
                        pick = pick.saturating_sub(*weight);
                        hit
                    })
                    .map_or("open", |(name, _)| name)
            }
        };
        let job_id = rng.hex(32);
        let worker = match (mine, state) {
            (Some(w), _) => Some(workers[w].clone()),
            (None, "open" | "refunded") => None,
            (None, _) => Some(other_workers[rng.below(100) as usize].clone()),
        };
        if let Some(w) = mine {
            per_worker[w].push(job_id.clone());
        }
        let submitted = !matches!(state, "open" | "claimed" | "refunded" | "expired");
        let audited = submitted && state != "submitted";
        let sample_count = 3;
        let num_intervals = 64;
        let reward = 1_000_000 * (1 + rng.below(500));
        let created_block = 1_000 + i64::try_from(i / 3).unwrap_or(0);
        jobs.push(SeedJob {
            requester: requesters[rng.below(200) as usize].clone(),
            worker,
            state,
            deadline: 1_900_000_000 + i64::try_from(rng.below(86_400)).unwrap_or(0),
            spec_hash: rng.hex(32),
            reward: format!("{reward:024}"),
            verifier_fee: format!("{:024}", reward / 100),
            worker_bond: format!("{:024}", reward / 10),
            total_steps: TOTAL_STEPS,
            checkpoint_interval: TOTAL_STEPS / num_intervals,
            sample_count,
            open_until: 1_900_000_000,
            trace_root: submitted.then(|| rng.hex(32)),
            adapter_hash: submitted.then(|| rng.hex(32)),
            anchor_block: submitted.then_some(created_block + 50),
            audit_seed: audited.then(|| rng.hex(32)),
            audit_intervals: if audited {
                let picks: Vec<String> = (0..sample_count)
                    .map(|_| rng.below(num_intervals as u64).to_string())
                    .collect();
                format!("[{}]", picks.join(","))
            } else {
                "[]".to_string()
            },
            verifiers: if audited {
                let picks: Vec<String> = (0..sample_count)
                    .map(|_| format!("\"{}\"", other_workers[rng.below(100) as usize]))
                    .collect();
                format!("[{}]", picks.join(","))
            } else {
                "[]".to_string()
            },
            created_block,
            created_log_index: i64::try_from(i % 3).unwrap_or(0) * 2,
            created_tx: rng.hex(32),
            job_id,
        });
    }
    assert!(
        per_worker.iter().all(|j| j.len() == JOBS_PER_WORKER),
        "every worker got its jobs"
    );
    (jobs, per_worker)
}

/// Runs `$body` with `$pool` bound to the backend's pool (the service's own `on_pool!` is private to it).
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Database::Sqlite($pool) => $body,
            Database::Postgres($pool) => $body,
        }
    };
}

/// Writes the seeded jobs straight into the `jobs` view, in one transaction.
///
/// Why not through the indexer: the view is normally the fold of the market's events (`chain::fold`), but that
/// fold and the batch writer are private to the service (and must stay so: nothing outside the indexer may write
/// the view), and indexing 10,000 jobs from a real chain would take anvil many minutes. The endpoints measured
/// read only the `jobs` row (the list, and the progress check of worker and state), never `job_events`, so rows
/// shaped as the fold writes them (padded amounts, JSON array columns) exercise exactly the production reads.
async fn insert_jobs(db: &Database, jobs: &[SeedJob]) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO jobs (job_id, requester, worker, state, deadline, spec_hash, reward, \
        verifier_fee, worker_bond, total_steps, checkpoint_interval, num_intervals, sample_count, open_until, \
        train_duration, trace_root, adapter_hash, anchor_block, audit_seed, audit_intervals, verifiers, \
        created_block, created_log_index, created_tx, updated_block) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
        $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)";
    macro_rules! insert_all {
        ($pool:expr) => {{
            let mut tx = $pool.begin().await?;
            for job in jobs {
                sqlx::query(SQL)
                    .bind(&job.job_id)
                    .bind(&job.requester)
                    .bind(&job.worker)
                    .bind(job.state)
                    .bind(job.deadline)
                    .bind(&job.spec_hash)
                    .bind(&job.reward)
                    .bind(&job.verifier_fee)
                    .bind(&job.worker_bond)
                    .bind(job.total_steps)
                    .bind(job.checkpoint_interval)
                    .bind(job.total_steps / job.checkpoint_interval)
                    .bind(job.sample_count)
                    .bind(job.open_until)
                    .bind(86_400_i64)
                    .bind(&job.trace_root)
                    .bind(&job.adapter_hash)
                    .bind(job.anchor_block)
                    .bind(&job.audit_seed)
                    .bind(&job.audit_intervals)
                    .bind(&job.verifiers)
                    .bind(job.created_block)
                    .bind(job.created_log_index)
                    .bind(&job.created_tx)
                    .bind(job.anchor_block.unwrap_or(job.created_block))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }};
    }
    // Where the indexer would be after applying the blocks these jobs were created in. Every write of the view
    // moves it, so pages of `GET /v1/jobs` are kept while it stays.
    const CURSOR: &str =
        "INSERT INTO chain_cursor (id, market, block_number, block_hash) VALUES (1, $1, $2, $3)";
    let last_block = jobs.iter().map(|j| j.created_block).max().unwrap_or(0);
    let market = format!("0x{}", "11".repeat(20));
    let hash = format!("0x{}", "22".repeat(32));
    on_pool!(db, pool => {
        sqlx::query(CURSOR).bind(&market).bind(last_block).bind(&hash).execute(pool).await?;
    });
    match db {
        Database::Sqlite(pool) => insert_all!(pool),
        Database::Postgres(pool) => {
            insert_all!(pool);
            // A live database has had autovacuum analyze a table this size; plan as it would.
            sqlx::query("ANALYZE jobs").execute(pool).await?;
        }
    }
    Ok(())
}

/// Removes the chain cursor, as in a database no indexer has written: the page cache then stays out of play.
async fn forget_cursor(url: &str) -> Result<(), sqlx::Error> {
    let db = Database::connect(url)
        .await
        .map_err(|e| sqlx::Error::Configuration(e.into()))?;
    on_pool!(&db, pool => {
        sqlx::query("DELETE FROM chain_cursor").execute(pool).await?;
    });
    db.close().await;
    Ok(())
}

/// A database for one backend's run: a SQLite file in a temporary directory, or a PostgreSQL database of its own
/// that is dropped at the end.
struct BenchDb {
    url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl BenchDb {
    async fn new(kind: BackendKind, admin_url: &str) -> Result<Self, String> {
        match kind {
            BackendKind::Sqlite => {
                let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
                Ok(Self {
                    url: format!(
                        "sqlite://{}?mode=rwc",
                        dir.path().join("market.db").display()
                    ),
                    _dir: Some(dir),
                    postgres: None,
                })
            }
            BackendKind::Postgres => {
                let name = format!("tern_bench_{}", std::process::id());
                let mut admin = admin_connection(admin_url).await?;
                for sql in [
                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    format!("CREATE DATABASE {name}"),
                ] {
                    sqlx::query(&sql)
                        .execute(&mut admin)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                let _ = admin.close().await;
                let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
                Ok(Self {
                    url: format!("{base}/{name}"),
                    _dir: None,
                    postgres: Some((admin_url.to_string(), name)),
                })
            }
        }
    }

    async fn drop_database(mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            let dropped = async {
                let mut admin = admin_connection(&admin_url).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = admin.close().await;
                Ok::<_, String>(())
            };
            if let Err(err) = dropped.await {
                eprintln!("could not drop the bench database {name}: {err}");
            }
        }
    }
}

async fn admin_connection(url: &str) -> Result<sqlx::PgConnection, String> {
    tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(url))
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(|e| e.to_string())
}

/// Signs `wallet` in through the API (nonce, EIP-4361 message, EIP-191 signature); returns the session token.
async fn sign_in(base: &str, wallet: &PrivateKeySigner) -> Result<String, String> {
    let client = reqwest::Client::new();
    let issued: NonceIssued = client
        .post(format!("{base}/v1/auth/nonce?address={}", wallet.address()))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("nonce: {e}"))?
        .json()
        .await
        .map_err(|e| format!("nonce: {e}"))?;
    let message = issued.message.ok_or("the nonce came without a message")?;
    let signature = wallet
        .sign_message_sync(message.as_bytes())
        .map_err(|e| e.to_string())?;
    let login = LoginRequest {
        signature: format!("0x{}", alloy::hex::encode(signature.as_bytes())),
        message,
    };
    let session: SessionOpened = client
        .post(format!("{base}/v1/auth/login"))
        .json(&login)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("login: {e}"))?
        .json()
        .await
        .map_err(|e| format!("login: {e}"))?;
    Ok(session.token)
}

/// What one connection measured.
struct Tally {
    latency_us: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
    /// When its last measured request finished.
    last: Instant,
}

impl Tally {
    fn new() -> Self {
        Self {
            latency_us: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
            errors: 0,
            first_error: None,
            last: Instant::now(),
        }
    }
}

/// What each connection sends: a fixed request, or its worker's progress reports.
#[derive(Clone)]
enum Work {
    Get(String),
    Progress { token: String, jobs: Vec<String> },
}

impl Work {
    fn request(&self, host: &str, n: u64) -> Request<Full<Bytes>> {
        match self {
            Self::Get(path) => Request::get(path.as_str())
                .header(HOST, host)
                .body(Full::new(Bytes::new())),
            Self::Progress { token, jobs } => {
                let job = &jobs[(n % jobs.len() as u64) as usize];
                // Each report a new step of one of its jobs: an insert, as training moves on.
                let step = n / jobs.len() as u64 + 1;
                let body = format!(
                    r#"{{"step":{step},"loss":{:.4},"tokens_per_second":1523.5,"eta_seconds":3600}}"#,
                    2.0 / (1.0 + step as f64 / 100.0)
                );
                Request::builder()
                    .method(Method::POST)
                    .uri(format!("/v1/jobs/{job}/progress"))
                    .header(HOST, host)
                    .header(AUTHORIZATION, format!("Bearer {token}"))
                    .header(CONTENT_TYPE, "application/json")
                    .body(Full::new(Bytes::from(body)))
            }
        }
        .expect("a valid request")
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// One keep-alive HTTP/1 connection; its driver runs as a task of the current runtime.
async fn connect(addr: SocketAddr) -> Result<Sender, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Sends `work`'s requests one after another on one connection until `until`; measures those that start after
/// `measure_from`.
async fn drive(addr: SocketAddr, work: Work, measure_from: Instant, until: Instant) -> Tally {
    let host = addr.to_string();
    let mut tally = Tally::new();
    let mut sender = None;
    let mut n = 0u64;
    loop {
        let start = Instant::now();
        if start >= until {
            break;
        }
        let measured = start >= measure_from;
        let outcome = async {
            if sender.is_none() {
                sender = Some(connect(addr).await?);
            }
            let s = sender.as_mut().expect("connected");
            s.ready().await.map_err(|e| e.to_string())?;
            let response = s
                .send_request(work.request(&host, n))
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            if status.is_success() {
                Ok(())
            } else {
                Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
            }
        }
        .await;
        n += 1;
        let done = Instant::now();
        if !measured {
            if outcome.is_err() {
                sender = None;
            }
            continue;
        }
        let micros = u64::try_from(done.duration_since(start).as_micros()).unwrap_or(u64::MAX);
        tally.latency_us.saturating_record(micros.max(1));
        tally.last = done;
        if let Err(err) = outcome {
            tally.errors += 1;
            tally.first_error.get_or_insert(err);
            // A transport error leaves the connection unusable; an HTTP error does not, but reconnecting is safe.
            sender = None;
        }
    }
    tally
}

/// One printed row.
struct Row {
    scenario: Scenario,
    backend: BackendKind,
    connections: usize,
    requests: u64,
    per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    errors: u64,
    /// CPU time of this process (server and load generator, not PostgreSQL's processes) per request.
    cpu_us_per_request: Option<f64>,
}

/// The kernel's `USER_HZ`, the unit of `/proc/self/stat`'s times (100 on every Linux architecture in use).
const CLOCK_TICKS_PER_SEC: f64 = 100.0;

/// User plus system CPU time of this process, all threads, in clock ticks; `None` where there is no procfs.
///
/// Throughput on a shared 2-core machine moves with whatever else runs; CPU time per request does much less, so
/// it is the figure to compare two builds by.
fn process_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which may hold spaces) are space-separated; utime and stime are the
    // 14th and 15th of the line.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

async fn run_load(addr: SocketAddr, works: Vec<Work>, options: &Options) -> (Row, Option<String>) {
    let begin = Instant::now();
    let measure_from = begin + options.warmup;
    let until = measure_from + options.duration;
    let tasks: Vec<_> = works
        .into_iter()
        .map(|work| tokio::spawn(drive(addr, work, measure_from, until)))
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_from = process_cpu_ticks();
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
    let mut errors = 0;
    let mut first_error = None;
    let mut last = measure_from;
    let connections = tasks.len();
    for task in tasks {
        let tally = task.await.expect("a load task panicked");
        latency.add(&tally.latency_us).expect("same bounds");
        errors += tally.errors;
        first_error = first_error.or(tally.first_error);
        last = last.max(tally.last);
    }
    let window = last.duration_since(measure_from).as_secs_f64().max(1e-9);
    let cpu_us_per_request = cpu_from.zip(process_cpu_ticks()).map(|(from, to)| {
        (to - from) as f64 * 1e6 / CLOCK_TICKS_PER_SEC / latency.len().max(1) as f64
    });
    let ms = |us: u64| us as f64 / 1000.0;
    let row = Row {
        scenario: Scenario::List,
        backend: BackendKind::Sqlite,
        connections,
        requests: latency.len(),
        per_sec: latency.len() as f64 / window,
        p50_ms: ms(latency.value_at_quantile(0.50)),
        p99_ms: ms(latency.value_at_quantile(0.99)),
        max_ms: ms(latency.max()),
        errors,
        cpu_us_per_request,
    };
    (row, first_error)
}

/// Checks that the endpoints answer what the bench means to measure before loading them.
async fn sanity_check(base: &str, jobs: usize) -> Result<String, String> {
    let client = reqwest::Client::new();
    let mut sizes = Vec::new();
    for (path, state) in [("/v1/jobs", None), ("/v1/jobs?state=open", Some("open"))] {
        let response = client
            .get(format!("{base}{path}"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{path}: {status}"));
        }
        let page: JobList = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        let full = page.jobs.len() == 50 && page.next_cursor.is_some();
        if (jobs >= 200 && !full) || state.is_some_and(|s| page.jobs.iter().any(|j| j.state != s)) {
            return Err(format!(
                "{path}: {} jobs, not a full page of them",
                page.jobs.len()
            ));
        }
        sizes.push(format!(
            "{path}: {} jobs, {} bytes",
            page.jobs.len(),
            body.len()
        ));
    }
    Ok(sizes.join("; "))
}

/// Runs every scenario on one backend; `None` when the backend is skipped.
fn run_backend(kind: BackendKind, options: &Options) -> Option<Vec<Row>> {
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let db = match client_rt.block_on(BenchDb::new(kind, &options.postgres_url)) {
        Ok(db) => db,
        Err(err) => {
            println!(
                "skipping {}: {} is not reachable ({err})",
                kind.name(),
                tern_marketplace::db::redact(&options.postgres_url)
            );
            return None;
        }
    };
    // The server's runtime: worker threads of its own, as the binary's `#[tokio::main]` builds it.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.server_threads)
        .thread_name("server")
        .enable_all()
        .build()
        .expect("a runtime");
    let max_connections = options.connections.iter().copied().max().unwrap_or(1);
    let wallets: Vec<PrivateKeySigner> = (0..max_connections).map(worker_wallet).collect();
    let worker_keys: Vec<String> = wallets.iter().map(|w| address_key(w.address())).collect();
    let (jobs, per_worker) = seed_jobs(options.jobs, &worker_keys);
    let seeding = Instant::now();
    server_rt.block_on(async {
        let seed_db = Database::connect(&db.url)
            .await
            .expect("the bench database");
        insert_jobs(&seed_db, &jobs)
            .await
            .expect("seeding the jobs");
        seed_db.close().await;
    });
    println!(
        "{}: seeded {} jobs in {:.1} s",
        kind.name(),
        jobs.len(),
        seeding.elapsed().as_secs_f64()
    );
    let blob_dir = tempfile::tempdir().expect("a blob directory");
    let config = Config {
        listen: "127.0.0.1:0".parse().expect("an address"),
        blob_dir: blob_dir.path().to_path_buf(),
        database_url: db.url.clone(),
        // Every connection's worker signs in from 127.0.0.1 at once: no sign-in rate limit here.
        sign_in_per_minute: 0,
        ..Config::default()
    };
    let server = server_rt
        .block_on(Server::bind(config))
        .expect("the server binds");
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = server_rt.spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    let base = format!("http://{addr}");
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    client_rt.block_on(async {
        match sanity_check(&base, options.jobs).await {
            Ok(sizes) => println!("{}: {sizes}", kind.name()),
            Err(err) => panic!(
                "{}: the API does not answer as expected: {err}",
                kind.name()
            ),
        }
        let mut tokens = Vec::new();
        if options.scenarios.contains(&Scenario::Progress) {
            for wallet in &wallets {
                tokens.push(sign_in(&base, wallet).await.expect("signing in"));
            }
        }
        for &scenario in &options.scenarios {
            if scenario == Scenario::ListUncached {
                forget_cursor(&db.url)
                    .await
                    .expect("removing the chain cursor");
            }
            for &connections in &options.connections {
                let works: Vec<Work> = (0..connections)
                    .map(|c| match scenario {
                        Scenario::List => Work::Get("/v1/jobs".into()),
                        Scenario::ListOpen => Work::Get("/v1/jobs?state=open".into()),
                        Scenario::ListUncached => Work::Get("/v1/jobs".into()),
                        Scenario::Progress => Work::Progress {
                            token: tokens[c].clone(),
                            jobs: per_worker[c].clone(),
                        },
                    })
                    .collect();
                let (mut row, first_error) = run_load(addr, works, options).await;
                row.scenario = scenario;
                row.backend = kind;
                if let Some(err) = first_error {
                    failed.push(format!("{} on {}: {err}", scenario.name(), kind.name()));
                }
                print_row(&row);
                rows.push(row);
            }
        }
    });
    let _ = stop.send(());
    server_rt
        .block_on(served)
        .expect("the server task")
        .expect("the server stops cleanly");
    drop(server_rt);
    client_rt.block_on(db.drop_database());
    for failure in failed {
        eprintln!("error responses: {failure}");
    }
    Some(rows)
}

const HEADER: &str = "scenario                       backend   conns   requests     req/s   p50 ms   p99 ms   \
                      max ms  errors  cpu us/req";

fn print_row(row: &Row) {
    println!(
        "{:<30} {:<9} {:>5} {:>10} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>7} {:>11}",
        row.scenario.name(),
        row.backend.name(),
        row.connections,
        row.requests,
        row.per_sec,
        row.p50_ms,
        row.p99_ms,
        row.max_ms,
        row.errors,
        row.cpu_us_per_request
            .map_or_else(|| "-".to_string(), |us| format!("{us:.0}"))
    );
}

fn main() {
    let options = parse_options();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "{cores} CPU cores shared by: the server (a tokio runtime with {} worker threads; SQLite's connection \
         threads), the load generator (one thread, {:?} connections, keep-alive HTTP/1), and PostgreSQL",
        options.server_threads, options.connections
    );
    println!(
        "{} jobs seeded per backend; {:.1} s warm-up, then {:.1} s measured per row",
        options.jobs,
        options.warmup.as_secs_f64(),
        options.duration.as_secs_f64()
    );
    let mut all = Vec::new();
    for &backend in &options.backends {
        println!("-- {}", backend.name());
        println!("{HEADER}");
        if let Some(rows) = run_backend(backend, &options) {
            all.extend(rows);
        }
    }
    // Side by side: every scenario's rows together, backend by backend.
    println!("\n== summary");
    println!("{HEADER}");
    for &scenario in &options.scenarios {
        for row in all.iter().filter(|r| r.scenario == scenario) {
            print_row(row);
        }
    }
    let errors: u64 = all.iter().map(|r| r.errors).sum();
    if errors > 0 {
        eprintln!("{errors} requests failed (non-2xx or transport errors)");
        std::process::exit(1);
    }
}
