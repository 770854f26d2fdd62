//! A test server on a free port with its own blob directory and database (SQLite or PostgreSQL).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};

use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use serde_json::Value;
use sqlx::{Connection, PgConnection};
use tern_marketplace::{Config, Server};

/// The database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The admin URL of the test PostgreSQL server: `TERN_TEST_POSTGRES_URL`, or the local one with trust auth.
fn postgres_admin_url() -> String {
    std::env::var("TERN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// One connection to the admin database (not a pool: an unreachable server fails at once, with its own error).
async fn admin_connection() -> Result<PgConnection, sqlx::Error> {
    let url = postgres_admin_url();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        PgConnection::connect(&url),
    )
    .await
    .unwrap_or_else(|_| Err(sqlx::Error::PoolTimedOut))
}

/// A database of its own for one test: a SQLite file in a temporary directory, or a uniquely named PostgreSQL
/// database that is dropped when this is dropped (also when the test fails).
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres_name: Option<String>,
}

impl TestDb {
    /// A fresh database; `None` when the backend is PostgreSQL, it cannot be reached and
    /// `TERN_TEST_SKIP_POSTGRES=1` is set (without it, an unreachable server fails the test).
    pub async fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("db/market.db").display()
                );
                Some(Self {
                    url,
                    _dir: Some(dir),
                    postgres_name: None,
                })
            }
            Backend::Postgres => {
                static COUNTER: AtomicU32 = AtomicU32::new(0);
                let admin_url = postgres_admin_url();
                let mut admin = match admin_connection().await {
                    Ok(pool) => pool,
                    Err(err) if std::env::var("TERN_TEST_SKIP_POSTGRES").as_deref() == Ok("1") => {
                        eprintln!(
                            "skipping the PostgreSQL variant ({admin_url}: {err}): TERN_TEST_SKIP_POSTGRES=1"
                        );
                        return None;
                    }
                    Err(err) => panic!(
                        "PostgreSQL is not reachable at {admin_url}: {err}. Start one (trust auth, user postgres) \
                         or point TERN_TEST_POSTGRES_URL at one, or set TERN_TEST_SKIP_POSTGRES=1 to skip the \
                         PostgreSQL variants"
                    ),
                };
                let name = format!(
                    "tern_test_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed)
                );
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                admin.close().await.unwrap();
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(base, _)| base);
                Some(Self {
                    url: format!("{base}/{name}"),
                    _dir: None,
                    postgres_name: Some(name),
                })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        // Drop runs inside the test's runtime: drop the database from a thread with its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let mut admin = admin_connection().await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await?;
                admin.close().await?;
                Ok::<_, sqlx::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop a test database: {dropped:?}");
        }
    }
}

/// A test wallet with a fixed key: the same seed gives the same address in every run.
pub fn wallet(seed: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&[seed; 32].into()).unwrap()
}

/// `text` signed by `wallet` (EIP-191), as `0x` and 130 hex digits.
pub fn sign(wallet: &PrivateKeySigner, text: &str) -> String {
    let signature = wallet.sign_message_sync(text.as_bytes()).unwrap();
    format!("0x{}", alloy::hex::encode(signature.as_bytes()))
}

/// A client that sends `token` as its bearer token on every request.
pub fn client_with(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// A running server; its blob directory and database are removed when it is dropped.
pub struct TestApp {
    pub addr: SocketAddr,
    /// A client signed in as `wallet(1)`.
    pub client: reqwest::Client,
    /// A client with no session.
    pub anon: reqwest::Client,
    pub blob_dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _db: Option<TestDb>,
}

impl TestApp {
    /// A server with the default limits, on SQLite.
    pub async fn start() -> Self {
        Self::with(|_| {}).await
    }

    /// A server with the configuration changed by `edit`, on SQLite.
    pub async fn with(edit: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::new(Backend::Sqlite).await.unwrap();
        let mut app = Self::on(&db.url, edit).await;
        app._db = Some(db);
        app
    }

    /// A server on `backend` with its own database; `None` when the backend is skipped (see [`TestDb::new`]).
    pub async fn on_backend(backend: Backend) -> Option<Self> {
        let db = TestDb::new(backend).await?;
        let mut app = Self::on(&db.url, |_| {}).await;
        app._db = Some(db);
        Some(app)
    }

    /// A server on the database at `database_url`, with the configuration changed by `edit`.
    pub async fn on(database_url: &str, edit: impl FnOnce(&mut Config)) -> Self {
        let blob_dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            blob_dir: blob_dir.path().to_path_buf(),
            database_url: database_url.to_string(),
            // Tests sign in many wallets from one IP at once; the limit itself has its own test.
            sign_in_burst: 10_000,
            ..Config::default()
        };
        edit(&mut config);
        let server = Server::bind(config).await.unwrap();
        let addr = server.local_addr();
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(server.run_until(async {
            let _ = stop.await;
        }));
        let mut app = Self {
            addr,
            client: reqwest::Client::new(),
            anon: reqwest::Client::new(),
            blob_dir,
            shutdown: Some(shutdown),
            served: Some(served),
            _db: None,
        };
        let token = app.sign_in(&wallet(1)).await;
        app.client = client_with(&token);
        app
    }

    /// Signs `wallet` in through the HTTP API (nonce, EIP-4361 message, signature) and returns the session token.
    pub async fn sign_in(&self, wallet: &PrivateKeySigner) -> String {
        let issued: Value = self
            .anon
            .post(self.url(&format!("/v1/auth/nonce?address={}", wallet.address())))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let message = issued["message"].as_str().unwrap().to_string();
        let response = self
            .anon
            .post(self.url("/v1/auth/login"))
            .json(&serde_json::json!({"message": message, "signature": sign(wallet, &message)}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
        let session: Value = response.json().await.unwrap();
        session["token"].as_str().unwrap().to_string()
    }

    /// Stops the server and waits until it has finished; gives back its database (if it owns one).
    pub async fn stop(mut self) -> Option<TestDb> {
        let served = self.served.take().unwrap();
        drop(self.shutdown.take());
        let db = self._db.take();
        drop(self);
        tokio::time::timeout(std::time::Duration::from_secs(10), served)
            .await
            .expect("the server did not stop within 10 s")
            .unwrap()
            .unwrap();
        db
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// How many files the blob store holds (stored blobs and leftover temporary files).
    pub fn stored_files(&self) -> usize {
        fn count(dir: &std::path::Path) -> usize {
            std::fs::read_dir(dir)
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    if e.file_type().unwrap().is_dir() {
                        count(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        }
        count(self.blob_dir.path())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop the server before its database is dropped.
        drop(self.shutdown.take());
        if let Some(served) = self.served.take() {
            served.abort();
        }
    }
}

/// Runs a test written once, `async fn name(backend: Backend)`, as `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name($crate::util::Backend::Sqlite).await;
                }

                #[tokio::test]
                async fn postgres() {
                    super::$name($crate::util::Backend::Postgres).await;
                }
            }
        )+
    };
}

/// Checks that `response` has `status` and the JSON error shape with `code`; returns the `error` object.
pub async fn expect_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(content_type, "application/json");
    let body: Value = response.json().await.unwrap();
    let error = body["error"].clone();
    assert_eq!(error["code"], code, "{body}");
    assert!(!error["message"].as_str().unwrap().is_empty(), "{body}");
    error
}
