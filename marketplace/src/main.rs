//! `marketplace`: Tern's marketplace service. See the library, `tern_marketplace`.

use std::io::IsTerminal;

use clap::Parser;
use tern_marketplace::{Cli, LogFormat, Server};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=debug"));
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match cli.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().with_current_span(true).init(),
    }
    let config = cli.config()?;
    let logged = tern_marketplace::Config {
        database_url: tern_marketplace::db::redact(&config.database_url),
        // Node URLs often carry an API key in their path or query: log the origin only.
        rpc_url: config.rpc_url.as_deref().map(origin_only),
        ..config.clone()
    };
    tracing::info!(config = ?logged, "starting");
    Server::bind(config).await?.run().await?;
    Ok(())
}

/// `scheme://host[:port]` of `url`, without user info, path or query.
fn origin_only(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            format!("{scheme}://{host}/…")
        }
        None => "…".to_string(),
    }
}
