//! The marketplace service, run in this process beside the devnet's chain.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;

use anyhow::Context;
use tern_contracts::devnet::{Devnet, Role};
use tern_marketplace::chain::sender::{SenderConfig, SenderKey};
use tern_marketplace::{Config, Server};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How often the indexer and the settlement loop look at the chain, in milliseconds: anvil mines on every
/// transaction, so a short poll makes each state show up in the API a moment after its transaction.
const POLL_MS: u64 = 100;

/// A running marketplace and the directory that holds its database and blobs.
pub struct Marketplace {
    url: String,
    data_dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    served: JoinHandle<std::io::Result<()>>,
}

impl Marketplace {
    /// Starts the marketplace on `listen` (a port from [`resolve_port`]), indexing the devnet's market from its
    /// deployment block with no confirmations, and settling with the Deployer's key (the account that plays the
    /// marketplace). Its SQLite database and blob directory go into a fresh temporary directory: anvil's chain
    /// lives in memory and ends with this process, so a database kept from an earlier run would describe a chain
    /// that no longer exists (job ids and blocks that anvil hands out again from zero).
    pub async fn start(devnet: &Devnet, listen: SocketAddr) -> anyhow::Result<Self> {
        let url = format!("http://{}", browsable(listen));
        let data_dir = tempfile::Builder::new()
            .prefix("tern-devnet-")
            .tempdir()
            .context(
                "cannot create a temporary directory for the marketplace's database and blobs",
            )?;
        let deployer = devnet
            .signer(Role::Deployer)
            .context("the devnet has no Deployer key")?;
        let config = Config {
            listen,
            blob_dir: data_dir.path().join("blobs"),
            database_url: sqlite_url(&data_dir.path().join("market.db")),
            public_url: url.clone(),
            chain_id: devnet.chain_id(),
            rpc_url: Some(devnet.endpoint()),
            market_address: Some(devnet.market()),
            start_block: devnet.deploy_block(),
            confirmations: 0,
            poll_interval_ms: POLL_MS,
            leader_check_ms: 200,
            sender_key: Some(SenderKey::new(alloy::hex::encode(deployer.to_bytes()))),
            sender: SenderConfig {
                poll_interval_ms: POLL_MS,
                ..SenderConfig::default()
            },
            ..Config::default()
        };
        let server = Server::bind(config)
            .await
            .with_context(|| format!("cannot start the marketplace on {listen}"))?;
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(server.run_until(async {
            let _ = stopped.await;
        }));
        Ok(Self {
            url,
            data_dir,
            stop: Some(stop),
            served,
        })
    }

    /// The URL the marketplace serves at, `http://HOST:PORT` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The directory of its database and blobs (removed when the marketplace stops).
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// Stops the service (requests in flight finish, the indexer and sender stop) and removes its directory.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        drop(self.stop.take());
        let served = tokio::time::timeout(std::time::Duration::from_secs(10), &mut self.served)
            .await
            .context("the marketplace did not stop within 10 s")?
            .context("the marketplace task failed")?;
        served.context("the marketplace failed while serving")?;
        self.data_dir
            .close()
            .context("cannot remove the marketplace's data directory")
    }
}

/// `listen` with its port chosen, checked free. The service's sign-in messages name its public URL, port
/// included, so the port must be known before the service is configured; binding here first also says clearly
/// when the port is taken, before anything is created. The probe is closed at once and the service binds the
/// same port a moment later.
pub fn resolve_port(listen: SocketAddr) -> anyhow::Result<SocketAddr> {
    let probe = TcpListener::bind(listen).map_err(|err| {
        let hint = if err.kind() == std::io::ErrorKind::AddrInUse {
            " (another devnet or marketplace is probably running there; pick another address with \
             --listen, e.g. --listen 127.0.0.1:8081, or --listen 127.0.0.1:0 for any free port)"
        } else {
            ""
        };
        anyhow::anyhow!("cannot listen on {listen}: {err}{hint}")
    })?;
    probe
        .local_addr()
        .with_context(|| format!("the address bound for {listen}"))
}

/// The address a browser on this machine reaches `addr` at: a wildcard address becomes loopback.
fn browsable(addr: SocketAddr) -> SocketAddr {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    addr
}

/// The SQLite URL of a database file, created if missing.
fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}
