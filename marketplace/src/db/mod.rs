//! The database: SQLite (embedded, the default) or PostgreSQL (to scale), chosen by the URL's scheme.
//!
//! [`Database`] is an enum over the two typed pools rather than sqlx's `Any` driver: each arm runs its own
//! dialect's migrations (`migrations/sqlite`, `migrations/postgres`, embedded with `sqlx::migrate!`) and binds
//! native types, and adding a backend is a compile error at every `match` until it is handled. The queries are
//! runtime-checked strings (`sqlx::query`), so building needs no database; `on_pool!` writes each one once for
//! both pools. Each table's queries live in a file of their own.

mod auth;
mod chain;
mod devices;
mod jobs;
mod outbox;
mod progress;
mod specs;

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use auth::Session;
pub(crate) use chain::Batch;
pub use chain::{AccountEventRecord, ChainCursor, ChainDbError};
pub use devices::DeviceRow;
pub(crate) use jobs::AMOUNT_DIGITS;
pub use jobs::{Dispute, Job, JobEventRecord, JobFilter, JobsError, RowError, Vote};
pub use outbox::{IntentState, NewOutboxTx, OutboxIntent, OutboxSignError, OutboxTx};
pub use progress::{ProgressRow, TrainingJob};
pub use specs::StoredSpec;

/// Runs `$body` with `$pool` bound to whichever typed pool `$db` holds. The body is compiled once per backend, so
/// each arm binds that backend's native types while the query is written once.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Database::Sqlite($pool) => $body,
            $crate::db::Database::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Starting a transaction that will write. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
/// deferred transaction that reads first and writes later fails with "database is locked" when another
/// connection wrote meanwhile, whatever the busy timeout, while an immediate one waits its turn. On PostgreSQL,
/// a plain `BEGIN`.
pub(crate) trait BeginWrite {
    /// The transaction type of the pool.
    type Tx;
    /// Begins a transaction meant to write.
    async fn begin_write(&self) -> Result<Self::Tx, sqlx::Error>;
}

impl BeginWrite for SqlitePool {
    type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;
    async fn begin_write(&self) -> Result<Self::Tx, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Tx = sqlx::Transaction<'static, sqlx::Postgres>;
    async fn begin_write(&self) -> Result<Self::Tx, sqlx::Error> {
        self.begin().await
    }
}

/// Now, in Unix seconds.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The SQLite pool's size (see [`Database::connect`]).
const SQLITE_MAX_CONNECTIONS: u32 = 4;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:` URLs.
    Sqlite,
    /// `postgres:` and `postgresql:` URLs.
    Postgres,
}

impl Backend {
    /// The backend of `url`, from its scheme.
    pub fn of_url(url: &str) -> Result<Self, DbError> {
        let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("sqlite") => Ok(Self::Sqlite),
            Some("postgres" | "postgresql") => Ok(Self::Postgres),
            _ => Err(DbError::UnsupportedUrl(redact(url))),
        }
    }
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL's scheme is not one the service supports.
    #[error(
        "unsupported database URL {0:?}: use sqlite://PATH?mode=rwc or postgres://USER@HOST:PORT/DB \
         (database_url, TERN_MARKET_DATABASE_URL or --database-url)"
    )]
    UnsupportedUrl(String),
    /// The URL could not be parsed.
    #[error("invalid database URL {url:?}: {source}")]
    InvalidUrl {
        /// The URL, without its password.
        url: String,
        /// The parse error.
        source: sqlx::Error,
    },
    /// The directory of the SQLite file could not be created.
    #[error("cannot create the directory of the SQLite database {path}: {source}")]
    CreateDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The database could not be reached.
    #[error("cannot connect to the database {url:?}: {source}")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// The migrations failed.
    #[error("database migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// `url` with the password of its user info (if any) replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let user_info = &rest[..at];
            let user = user_info.split_once(':').map_or(user_info, |(u, _)| u);
            let masked = if user_info.contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            format!("{scheme}://{masked}{}", &rest[at..])
        }
        None => url.to_string(),
    }
}

/// A connection pool to the service's database, migrated to the current schema.
#[derive(Debug, Clone)]
pub enum Database {
    /// An embedded SQLite file.
    Sqlite(SqlitePool),
    /// A PostgreSQL server.
    Postgres(PgPool),
}

impl Database {
    /// Connects to `url` and runs the embedded migrations. For SQLite, the file's directory is created.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        let invalid = |source| DbError::InvalidUrl {
            url: redact(url),
            source,
        };
        let connect = |source| DbError::Connect {
            url: redact(url),
            source,
        };
        match Backend::of_url(url)? {
            Backend::Sqlite => {
                // WAL: readers never wait for the writer (nor the writer for them), and a commit is one append to
                // the log instead of a rollback journal written, synced and deleted. `synchronous` stays FULL (the
                // log is synced at every commit): the settlement sender's outbox must survive a power loss, not
                // only a crash of the process. The busy timeout is sqlx's default, spelled out: WAL still allows
                // one writer at a time.
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(invalid)?
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(std::time::Duration::from_secs(5));
                let file = options.get_filename();
                if file != std::path::Path::new(":memory:")
                    && let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
                // Few connections: SQLite runs each on a thread of its own and takes one writer at a time, so
                // more connections than cores only add thread switches and writers sleeping in the busy handler
                // (sqlx's default of 10 gave worse throughput and p99 for both reads and writes on 2 cores,
                // benches/load.rs).
                let pool = SqlitePoolOptions::new()
                    .max_connections(SQLITE_MAX_CONNECTIONS)
                    .connect_with(options)
                    .await
                    .map_err(connect)?;
                SQLITE_MIGRATIONS.run(&pool).await?;
                Ok(Self::Sqlite(pool))
            }
            Backend::Postgres => {
                let options = PgConnectOptions::from_str(url).map_err(invalid)?;
                let pool = PgPoolOptions::new()
                    .connect_with(options)
                    .await
                    .map_err(connect)?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                Ok(Self::Postgres(pool))
            }
        }
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes the pool, waiting for its connections to finish.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_from_scheme() {
        assert_eq!(
            Backend::of_url("sqlite://a/b.db?mode=rwc").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::of_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::of_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        let err = Backend::of_url("mysql://u:secret@h/db").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unsupported database URL"), "{text}");
        assert!(!text.contains("secret"), "{text}");
        assert!(Backend::of_url("market.db").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://u:pw@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact("sqlite://.tern/market/market.db?mode=rwc"),
            "sqlite://.tern/market/market.db?mode=rwc"
        );
    }

    #[tokio::test]
    async fn sqlite_file_and_its_directory_are_created() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a/b/market.db");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let db = Database::connect(&url).await.unwrap();
        assert!(
            db.insert_spec(&format!("0x{}", "0".repeat(64)), "{}")
                .await
                .unwrap()
        );
        assert!(
            !db.insert_spec(&format!("0x{}", "0".repeat(64)), "{}")
                .await
                .unwrap()
        );
        db.close().await;
        assert!(file.is_file());
    }

    #[tokio::test]
    async fn sqlite_runs_in_wal_mode_and_syncs_every_commit() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("market.db").display()
        );
        let db = Database::connect(&url).await.unwrap();
        let Database::Sqlite(pool) = &db else {
            panic!("a SQLite URL opens SQLite");
        };
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(pool)
            .await
            .unwrap();
        // 2 is FULL.
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!((mode.as_str(), synchronous), ("wal", 2));
        db.close().await;
        assert!(dir.path().join("market.db").is_file());
    }
}
