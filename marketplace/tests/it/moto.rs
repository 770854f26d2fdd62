//! A real S3-compatible server for the S3 blob store tests: moto (PyPI, installed by `deploy/toolchain.sh` into
//! `.tern/tools/moto`), one process per test binary, started on first use on a free loopback port. Each test
//! gets a bucket of its own, so tests share the server but not their objects.
//!
//! Without moto the S3 tests skip with a message, except under CI (`CI` set), where they fail.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use tern_marketplace::Config;
use tern_marketplace::blobs::{BlobBackend, S3Secret};

/// Starts moto's threaded server on port 0 and prints the port it got; stops when its standard input closes,
/// which happens when the test binary exits, however it exits.
const LAUNCHER: &str = "\
import logging, sys
from moto.server import ThreadedMotoServer
logging.getLogger('werkzeug').setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
";

/// The running server.
pub struct MotoServer {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    _child: Child,
    /// Held open for the life of the test binary: moto exits when it closes.
    _stdin: ChildStdin,
}

/// The Python of the moto environment: `TERN_TEST_MOTO_PYTHON`, or the one `deploy/toolchain.sh` installs.
fn python() -> std::path::PathBuf {
    match std::env::var_os("TERN_TEST_MOTO_PYTHON") {
        Some(path) => path.into(),
        None => {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tern/tools/moto/bin/python")
        }
    }
}

fn start() -> Result<MotoServer, String> {
    let python = python();
    if !python.exists() {
        return Err(format!(
            "moto is not installed ({} is missing): run deploy/toolchain.sh, or point TERN_TEST_MOTO_PYTHON at \
             a Python with moto[s3], flask and flask-cors",
            python.display()
        ));
    }
    let mut child = Command::new(&python)
        .args(["-c", LAUNCHER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
    let stdin = child.stdin.take().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .map_err(|e| format!("moto did not start: {e}"))?;
    let port: u16 = line
        .trim()
        .parse()
        .map_err(|_| format!("moto did not start (it printed {line:?}; see its errors above)"))?;
    Ok(MotoServer {
        endpoint: format!("http://127.0.0.1:{port}"),
        _child: child,
        _stdin: stdin,
    })
}

/// The shared server; `None` (after saying why) when moto is missing outside CI. Under CI it panics instead.
pub fn server() -> Option<&'static MotoServer> {
    static SERVER: OnceLock<Result<MotoServer, String>> = OnceLock::new();
    match SERVER.get_or_init(start) {
        Ok(server) => Some(server),
        Err(why) if in_ci() => panic!("the S3 blob store tests need moto under CI: {why}"),
        Err(why) => {
            eprintln!("skipping an S3 blob store test: {why}");
            None
        }
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A bucket of one test's own on the shared server.
#[derive(Clone)]
pub struct Bucket {
    pub name: String,
    endpoint: String,
    http: reqwest::Client,
}

impl MotoServer {
    /// Creates a fresh, empty bucket. moto does not check request signatures, so plain requests manage it.
    pub async fn bucket(&self) -> Bucket {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "tern-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let bucket = Bucket {
            name,
            endpoint: self.endpoint.clone(),
            http: reqwest::Client::new(),
        };
        let response = bucket.http.put(bucket.url("")).send().await.unwrap();
        assert!(response.status().is_success(), "{response:?}");
        bucket
    }
}

impl Bucket {
    fn url(&self, query: &str) -> String {
        format!("{}/{}{query}", self.endpoint, self.name)
    }

    /// Points `config` at this bucket (test credentials; moto accepts any).
    pub fn configure(&self, config: &mut Config) {
        config.blob_store = BlobBackend::S3 {
            bucket: None,
            prefix: None,
        };
        config.s3.endpoint = Some(self.endpoint.clone());
        config.s3.bucket = Some(self.name.clone());
        config.s3.region = Some("us-east-1".into());
        config.s3.allow_http = true;
        config.s3.access_key_id = Some("tern-test".into());
        config.s3.secret_access_key = Some(S3Secret::new("tern-test-secret"));
    }

    /// The keys of the objects in the bucket.
    pub async fn keys(&self) -> Vec<String> {
        let listing = self.get("?list-type=2").await;
        between(&listing, "<Key>", "</Key>")
    }

    /// How many multipart uploads are in progress (started, neither completed nor aborted).
    pub async fn open_uploads(&self) -> usize {
        let listing = self.get("?uploads").await;
        between(&listing, "<UploadId>", "</UploadId>").len()
    }

    async fn get(&self, query: &str) -> String {
        let response = self.http.get(self.url(query)).send().await.unwrap();
        assert!(response.status().is_success(), "{response:?}");
        response.text().await.unwrap()
    }
}

/// Every text between `open` and `close` in `xml`.
fn between(xml: &str, open: &str, close: &str) -> Vec<String> {
    xml.split(open)
        .skip(1)
        .filter_map(|rest| rest.split_once(close).map(|(inner, _)| inner.to_string()))
        .collect()
}
