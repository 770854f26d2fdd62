//! A test server on a free port with its own blob directory.

use std::net::SocketAddr;

use serde_json::Value;
use tern_marketplace::{Config, Server};

/// A running server; its blob directory is removed when it is dropped.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub blob_dir: tempfile::TempDir,
}

impl TestApp {
    /// A server with the default limits.
    pub async fn start() -> Self {
        Self::with(|_| {}).await
    }

    /// A server with the configuration changed by `edit`.
    pub async fn with(edit: impl FnOnce(&mut Config)) -> Self {
        let blob_dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            blob_dir: blob_dir.path().to_path_buf(),
            ..Config::default()
        };
        edit(&mut config);
        let server = Server::bind(config).await.unwrap();
        let addr = server.local_addr();
        tokio::spawn(server.run_until(std::future::pending()));
        Self {
            addr,
            client: reqwest::Client::new(),
            blob_dir,
        }
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
