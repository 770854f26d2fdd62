//! Configuration: defaults, then a TOML file, then `TERN_MARKET_*` variables, then flags (each overrides the one
//! before).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use clap::Parser;
use serde::Deserialize;

use crate::blobs::{BlobBackend, S3Config};
use crate::chain::sender::{SenderConfig, SenderKey};

/// The service's settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Where blobs are stored: `"local"` (the directory `blob_dir`, the default), `"s3"` (the bucket of `[s3]`)
    /// or `"s3://BUCKET[/PREFIX]"`.
    pub blob_store: BlobBackend,
    /// Directory of the local blob store (created if missing).
    pub blob_dir: PathBuf,
    /// The S3-compatible blob store's endpoint, region, bucket, prefix and credentials (`[s3]`), used when
    /// `blob_store` is S3. Credentials left out come from the usual AWS variables; secrets are never logged.
    pub s3: S3Config,
    /// Largest blob an upload may carry, in bytes.
    pub max_blob_bytes: u64,
    /// Largest JSON request body, in bytes.
    pub max_json_bytes: usize,
    /// The database: `sqlite://PATH?mode=rwc` (embedded; the file's directory is created) or
    /// `postgres://USER[:PASSWORD]@HOST:PORT/DB` (`postgresql:` too).
    pub database_url: String,
    /// The URL users and wallets reach the service at; its host is the domain sign-in messages must name.
    pub public_url: String,
    /// The chain the market settles on; sign-in messages must name it.
    pub chain_id: u64,
    /// How long a sign-in session lasts, in seconds.
    pub session_ttl_secs: u64,
    /// How long a sign-in nonce may wait for its signed message, in seconds.
    pub nonce_ttl_secs: u64,
    /// How many bytes one address may upload to the blob store per 24 hours.
    pub upload_quota_bytes: u64,
    /// Sign-in requests (`/v1/auth/*`) one client IP may make per minute, after a burst of `sign_in_burst`.
    pub sign_in_per_minute: u32,
    /// Sign-in requests one client IP may make at once before `sign_in_per_minute` applies.
    pub sign_in_burst: u32,
    /// Take the client's IP from `Forwarded` / `X-Forwarded-For` / `X-Real-Ip` (set only behind a proxy that writes
    /// them; otherwise clients could pick their own IP) instead of the TCP peer.
    pub trust_forwarded_for: bool,
    /// The settlement sender's private key: 64 hex digits, or the path of a file holding them. Never logged.
    pub sender_key: Option<SenderKey>,
    /// The settlement sender's pacing and fee cap (`[sender]`).
    pub sender: SenderConfig,
    /// The chain's JSON-RPC endpoint (HTTP), read by the indexer, the settlement sender and `POST /v1/jobs`.
    /// Without it the service runs no chain indexer.
    pub rpc_url: Option<String>,
    /// The market contract whose events the indexer mirrors (required with `rpc_url`).
    pub market_address: Option<Address>,
    /// The market's deployment block: the first block the indexer reads.
    pub start_block: u64,
    /// Blocks mined on top of a block before the indexer applies its events.
    pub confirmations: u64,
    /// How often the indexer looks for new blocks once caught up, in milliseconds.
    pub poll_interval_ms: u64,
    /// Most blocks one `eth_getLogs` request covers.
    pub max_block_range: u64,
    /// How often a replica tries to become leader, and the leader checks its lock connection, in milliseconds.
    pub leader_check_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            blob_store: BlobBackend::Local,
            blob_dir: PathBuf::from(".tern/market/blobs"),
            s3: S3Config::default(),
            max_blob_bytes: 1 << 30,
            max_json_bytes: 1 << 20,
            database_url: "sqlite://.tern/market/market.db?mode=rwc".to_string(),
            public_url: "http://127.0.0.1:8080".to_string(),
            chain_id: 31337,
            session_ttl_secs: 24 * 3600,
            nonce_ttl_secs: 300,
            upload_quota_bytes: 8 << 30,
            sign_in_per_minute: 30,
            sign_in_burst: 10,
            trust_forwarded_for: false,
            sender_key: None,
            sender: SenderConfig::default(),
            rpc_url: None,
            market_address: None,
            start_block: 0,
            confirmations: 2,
            poll_interval_ms: 2000,
            max_block_range: 1000,
            leader_check_ms: 1000,
        }
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML for [`Config`].
    #[error("invalid configuration file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML error, with the offending key.
        source: toml::de::Error,
    },
}

impl Config {
    /// Reads a TOML configuration file; keys it leaves out keep their defaults.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// How the binary writes its log lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, with the span fields.
    Json,
}

/// The command line of the `marketplace` binary. Every flag can also be given as a `TERN_MARKET_*` variable; flags
/// and variables override the configuration file.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "marketplace", version, about = "Tern's marketplace service")]
pub struct Cli {
    /// TOML configuration file (keys: the fields of `Config`).
    #[arg(long, env = "TERN_MARKET_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log lines as `text` (for people) or `json` (one object per line, for log collectors); the level comes
    /// from `RUST_LOG` [default: text].
    #[arg(long, env = "TERN_MARKET_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "TERN_MARKET_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Blob store: `local`, `s3` or `s3://BUCKET[/PREFIX]` [default: local].
    #[arg(long, env = "TERN_MARKET_BLOB_STORE")]
    pub blob_store: Option<BlobBackend>,
    /// S3-compatible endpoint URL [default: AWS_ENDPOINT, else AWS's own]. Credentials come from the AWS_*
    /// variables or the configuration file, never from flags.
    #[arg(long, env = "TERN_MARKET_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// S3 region [default: AWS_REGION, else us-east-1].
    #[arg(long, env = "TERN_MARKET_S3_REGION")]
    pub s3_region: Option<String>,
    /// S3 bucket of the blob store.
    #[arg(long, env = "TERN_MARKET_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// Key prefix of the blobs in the bucket [default: none].
    #[arg(long, env = "TERN_MARKET_S3_PREFIX")]
    pub s3_prefix: Option<String>,
    /// Allow a plain-HTTP S3 endpoint (a local test server).
    #[arg(long, env = "TERN_MARKET_S3_ALLOW_HTTP")]
    pub s3_allow_http: Option<bool>,
    /// Directory of the local blob store [default: .tern/market/blobs].
    #[arg(long, env = "TERN_MARKET_BLOB_DIR")]
    pub blob_dir: Option<PathBuf>,
    /// Largest blob upload in bytes [default: 1 GiB].
    #[arg(long, env = "TERN_MARKET_MAX_BLOB_BYTES")]
    pub max_blob_bytes: Option<u64>,
    /// Largest JSON request body in bytes [default: 1 MiB].
    #[arg(long, env = "TERN_MARKET_MAX_JSON_BYTES")]
    pub max_json_bytes: Option<usize>,
    /// Database URL, `sqlite://PATH?mode=rwc` or `postgres://USER@HOST:PORT/DB`
    /// [default: sqlite://.tern/market/market.db?mode=rwc].
    #[arg(long, env = "TERN_MARKET_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The URL wallets sign in to [default: http://127.0.0.1:8080].
    #[arg(long, env = "TERN_MARKET_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Chain id of the settlement chain [default: 31337, the local devnet].
    #[arg(long, env = "TERN_MARKET_CHAIN_ID")]
    pub chain_id: Option<u64>,
    /// Sign-in session lifetime in seconds [default: 86400].
    #[arg(long, env = "TERN_MARKET_SESSION_TTL_SECS")]
    pub session_ttl_secs: Option<u64>,
    /// Bytes one address may upload per 24 hours [default: 8 GiB].
    #[arg(long, env = "TERN_MARKET_UPLOAD_QUOTA_BYTES")]
    pub upload_quota_bytes: Option<u64>,
    /// Sign-in requests per client IP per minute [default: 30, after a burst of 10].
    #[arg(long, env = "TERN_MARKET_SIGN_IN_PER_MINUTE")]
    pub sign_in_per_minute: Option<u32>,
    /// Take client IPs from the proxy's forwarding headers [default: the TCP peer].
    #[arg(long, env = "TERN_MARKET_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// The settlement sender's private key (hex) or a file holding it; prefer the variable or the file to the
    /// flag, which other users can see in the process list.
    #[arg(long, env = "TERN_MARKET_SENDER_KEY", hide_env_values = true)]
    pub sender_key: Option<SenderKey>,
    /// Chain JSON-RPC endpoint; the indexer runs when it is set [default: none].
    #[arg(long, env = "TERN_MARKET_RPC_URL")]
    pub rpc_url: Option<String>,
    /// Address of the market contract to index.
    #[arg(long, env = "TERN_MARKET_MARKET_ADDRESS")]
    pub market_address: Option<Address>,
    /// The market's deployment block, where indexing starts [default: 0].
    #[arg(long, env = "TERN_MARKET_START_BLOCK")]
    pub start_block: Option<u64>,
    /// Blocks on top of a block before its events are applied [default: 2].
    #[arg(long, env = "TERN_MARKET_CONFIRMATIONS")]
    pub confirmations: Option<u64>,
    /// Indexer poll interval in milliseconds [default: 2000].
    #[arg(long, env = "TERN_MARKET_POLL_INTERVAL_MS")]
    pub poll_interval_ms: Option<u64>,
    /// Most blocks per eth_getLogs request [default: 1000].
    #[arg(long, env = "TERN_MARKET_MAX_BLOCK_RANGE")]
    pub max_block_range: Option<u64>,
    /// Leader election check interval in milliseconds [default: 1000].
    #[arg(long, env = "TERN_MARKET_LEADER_CHECK_MS")]
    pub leader_check_ms: Option<u64>,
}

impl Cli {
    /// The configuration: the file's (or the defaults), with the flags and variables given on top.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(listen) = self.listen {
            config.listen = listen;
        }
        if let Some(backend) = &self.blob_store {
            config.blob_store = backend.clone();
        }
        if let Some(dir) = &self.blob_dir {
            config.blob_dir.clone_from(dir);
        }
        if let Some(endpoint) = &self.s3_endpoint {
            config.s3.endpoint = Some(endpoint.clone());
        }
        if let Some(region) = &self.s3_region {
            config.s3.region = Some(region.clone());
        }
        if let Some(bucket) = &self.s3_bucket {
            config.s3.bucket = Some(bucket.clone());
        }
        if let Some(prefix) = &self.s3_prefix {
            config.s3.prefix.clone_from(prefix);
        }
        if let Some(allow) = self.s3_allow_http {
            config.s3.allow_http = allow;
        }
        if let Some(max) = self.max_blob_bytes {
            config.max_blob_bytes = max;
        }
        if let Some(max) = self.max_json_bytes {
            config.max_json_bytes = max;
        }
        if let Some(url) = &self.database_url {
            config.database_url.clone_from(url);
        }
        if let Some(url) = &self.public_url {
            config.public_url.clone_from(url);
        }
        if let Some(id) = self.chain_id {
            config.chain_id = id;
        }
        if let Some(ttl) = self.session_ttl_secs {
            config.session_ttl_secs = ttl;
        }
        if let Some(quota) = self.upload_quota_bytes {
            config.upload_quota_bytes = quota;
        }
        if let Some(rate) = self.sign_in_per_minute {
            config.sign_in_per_minute = rate;
        }
        if self.trust_forwarded_for {
            config.trust_forwarded_for = true;
        }
        if let Some(key) = &self.sender_key {
            config.sender_key = Some(key.clone());
        }
        if let Some(url) = &self.rpc_url {
            config.rpc_url = Some(url.clone());
        }
        if let Some(market) = self.market_address {
            config.market_address = Some(market);
        }
        if let Some(block) = self.start_block {
            config.start_block = block;
        }
        if let Some(confirmations) = self.confirmations {
            config.confirmations = confirmations;
        }
        if let Some(ms) = self.poll_interval_ms {
            config.poll_interval_ms = ms;
        }
        if let Some(range) = self.max_block_range {
            config.max_block_range = range;
        }
        if let Some(ms) = self.leader_check_ms {
            config.leader_check_ms = ms;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("market.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\nmax_json_bytes = 10\n").unwrap();
        let cli = Cli::try_parse_from([
            "marketplace",
            "--config",
            path.to_str().unwrap(),
            "--max-json-bytes",
            "20",
            "--database-url",
            "postgres://u@h/db",
        ])
        .unwrap();
        let config = cli.config().unwrap();
        assert_eq!(config.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(config.max_json_bytes, 20);
        assert_eq!(config.blob_dir, Config::default().blob_dir);
        assert_eq!(config.database_url, "postgres://u@h/db");
    }

    #[test]
    fn sender_settings_and_the_key_stays_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("market.toml");
        let key = "ab".repeat(32);
        std::fs::write(
            &path,
            format!(
                "rpc_url = \"http://127.0.0.1:8545\"\nsender_key = \"{key}\"\n\
                 [sender]\nmax_fee_per_gas = 1000\nbump_after_blocks = 5\n"
            ),
        )
        .unwrap();
        let cli = Cli::try_parse_from([
            "marketplace",
            "--config",
            path.to_str().unwrap(),
            "--chain-id",
            "31337",
        ])
        .unwrap();
        let config = cli.config().unwrap();
        assert_eq!(config.rpc_url.as_deref(), Some("http://127.0.0.1:8545"));
        assert_eq!(config.sender.max_fee_per_gas, 1000);
        assert_eq!(config.sender.bump_after_blocks, 5);
        assert_eq!(config.chain_id, 31337);
        assert_eq!(
            config.sender.confirmations,
            SenderConfig::default().confirmations
        );
        assert!(config.sender_key.as_ref().unwrap().signer().is_ok());
        assert!(!format!("{config:?}").contains(&key));
    }

    #[test]
    fn chain_keys_from_file_and_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("market.toml");
        std::fs::write(
            &path,
            "rpc_url = \"http://127.0.0.1:8545\"\n\
             market_address = \"0x5fbdb2315678afecb367f032d93f642f64180aa3\"\n\
             start_block = 7\nconfirmations = 5\n",
        )
        .unwrap();
        let cli = Cli::try_parse_from([
            "marketplace",
            "--config",
            path.to_str().unwrap(),
            "--confirmations",
            "3",
            "--poll-interval-ms",
            "250",
        ])
        .unwrap();
        let config = cli.config().unwrap();
        assert_eq!(config.rpc_url.as_deref(), Some("http://127.0.0.1:8545"));
        assert_eq!(
            config.market_address,
            Some(
                "0x5FbDB2315678afecb367f032d93F642f64180aa3"
                    .parse()
                    .unwrap()
            )
        );
        assert_eq!(config.start_block, 7);
        assert_eq!(config.confirmations, 3);
        assert_eq!(config.poll_interval_ms, 250);
        assert_eq!(config.max_block_range, Config::default().max_block_range);
    }

    #[test]
    fn blob_store_keys_and_the_secret_stays_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("market.toml");
        std::fs::write(
            &path,
            "blob_store = \"s3\"\n\
             [s3]\nendpoint = \"http://127.0.0.1:9000\"\nbucket = \"blobs\"\nallow_http = true\n\
             access_key_id = \"tern\"\nsecret_access_key = \"very-secret-key\"\n",
        )
        .unwrap();
        let cli = Cli::try_parse_from([
            "marketplace",
            "--config",
            path.to_str().unwrap(),
            "--s3-prefix",
            "market",
            "--s3-region",
            "eu-west-1",
        ])
        .unwrap();
        let config = cli.config().unwrap();
        assert_eq!(
            config.blob_store,
            BlobBackend::S3 {
                bucket: None,
                prefix: None
            }
        );
        assert_eq!(config.s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(config.s3.bucket.as_deref(), Some("blobs"));
        assert_eq!(config.s3.prefix, "market");
        assert_eq!(config.s3.region.as_deref(), Some("eu-west-1"));
        assert!(config.s3.allow_http);
        assert_eq!(config.s3.part_bytes, S3Config::default().part_bytes);
        assert!(!format!("{config:?}").contains("very-secret-key"));

        let cli = Cli::try_parse_from(["marketplace", "--blob-store", "s3://b/p"]).unwrap();
        assert_eq!(
            cli.config().unwrap().blob_store,
            BlobBackend::S3 {
                bucket: Some("b".into()),
                prefix: Some("p".into())
            }
        );
        assert!(Cli::try_parse_from(["marketplace", "--blob-store", "gcs"]).is_err());
        assert_eq!(Config::default().blob_store, BlobBackend::Local);
    }

    #[test]
    fn unknown_key_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("market.toml");
        std::fs::write(&path, "listn = \"127.0.0.1:9000\"\n").unwrap();
        let err = Config::from_file(&path).unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
    }
}
