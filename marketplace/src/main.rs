//! `marketplace`: Tern's marketplace service. See the library, `tern_marketplace`.

use std::io::IsTerminal;

use clap::Parser;
use tern_marketplace::{Cli, Server};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_http=debug")),
        )
        .init();
    let config = Cli::parse().config()?;
    let logged = tern_marketplace::Config {
        database_url: tern_marketplace::db::redact(&config.database_url),
        ..config.clone()
    };
    tracing::info!(config = ?logged, "starting");
    Server::bind(config).await?.run().await?;
    Ok(())
}
