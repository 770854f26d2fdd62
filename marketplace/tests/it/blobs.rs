//! `PUT`/`GET`/`HEAD /v1/blobs/{content_id}`, on both blob stores: the local directory and an S3 bucket on a real
//! S3-compatible server (moto, see `moto.rs`). Each test is written once, `async fn name(store: Store)`, and runs
//! as `name::local` and `name::s3`.

use futures_util::StreamExt;
use tern_marketplace::{Config, Server};
use tern_protocol::ContentId;

use crate::moto::{self, Bucket};
use crate::util::{TestApp, expect_error};

/// The blob store a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Local,
    S3,
}

/// S3's smallest part: the S3 tests use it, so that a few MiB take the multipart path.
const PART: usize = 5 << 20;

/// A test server on one blob store.
struct BlobApp {
    app: TestApp,
    bucket: Option<Bucket>,
}

impl BlobApp {
    /// A server on `store` with the configuration changed by `edit`; `None` when the S3 server is missing and the
    /// test skips (see [`moto::server`]).
    async fn start(store: Store, edit: impl FnOnce(&mut Config)) -> Option<Self> {
        let bucket = match store {
            Store::Local => None,
            Store::S3 => Some(moto::server()?.bucket().await),
        };
        let app = TestApp::with(|config| {
            if let Some(bucket) = &bucket {
                bucket.configure(config);
                config.s3.part_bytes = PART;
            }
            edit(config);
        })
        .await;
        Some(Self { app, bucket })
    }

    /// What the store holds: stored blobs, plus leftovers (temporary files, or S3 multipart uploads in
    /// progress). A refused upload must leave this unchanged.
    async fn stored(&self) -> usize {
        match &self.bucket {
            None => self.app.stored_files(),
            Some(bucket) => {
                // Nothing may go to the local directory either.
                assert_eq!(self.app.stored_files(), 0);
                bucket.keys().await.len() + bucket.open_uploads().await
            }
        }
    }

    fn blob_url(&self, id: &ContentId) -> String {
        self.app.url(&format!("/v1/blobs/{id}"))
    }
}

/// Runs a test written once, `async fn name(store: Store)`, as `name::local` and `name::s3`.
macro_rules! on_both_stores {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn local() {
                    super::$name(super::Store::Local).await;
                }

                #[tokio::test]
                async fn s3() {
                    super::$name(super::Store::S3).await;
                }
            }
        )+
    };
}

on_both_stores!(
    upload_then_download,
    wrong_hash_is_422_and_stores_nothing,
    oversized_blob_is_413_and_stores_nothing,
    concurrent_uploads_of_one_blob,
    big_blob_streamed_in_small_chunks,
    missing_blob_is_404,
    interrupted_upload_leaves_nothing,
);

fn blob(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// `data` as a request body of `chunk`-byte pieces with no Content-Length, as a streaming client sends it.
fn streamed(data: &[u8], chunk: usize) -> reqwest::Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        data.chunks(chunk).map(|c| Ok(c.to_vec())).collect();
    reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
}

async fn upload_then_download(store: Store) {
    let Some(app) = BlobApp::start(store, |_| {}).await else {
        return;
    };
    let data = blob(300_000);
    let id = ContentId::of(&data);
    let url = app.blob_url(&id);

    let response = app
        .app
        .client
        .put(&url)
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let stored: serde_json::Value = response.json().await.unwrap();
    assert_eq!(stored["content_id"], id.to_string());
    assert_eq!(stored["created"], true);

    // Idempotent, and the bytes are still checked.
    let response = app
        .app
        .client
        .put(&url)
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let stored: serde_json::Value = response.json().await.unwrap();
    assert_eq!(stored["created"], false);
    let response = app
        .app
        .client
        .put(&url)
        .body(blob(299_999))
        .send()
        .await
        .unwrap();
    expect_error(response, 422, "content_mismatch").await;
    assert_eq!(app.stored().await, 1);
    if let Some(bucket) = &app.bucket {
        let hex = &id.to_string()["sha256:".len()..];
        assert_eq!(bucket.keys().await, [format!("sha256/{hex}")]);
    }

    let response = app.app.client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-length"], "300000");
    assert_eq!(response.headers()["etag"], format!("\"{id}\""));
    let bytes = response.bytes().await.unwrap();
    assert_eq!(ContentId::of(&bytes), id);
    assert_eq!(&bytes[..], &data[..]);

    let response = app.app.client.head(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-length"], "300000");
}

async fn wrong_hash_is_422_and_stores_nothing(store: Store) {
    let Some(app) = BlobApp::start(store, |_| {}).await else {
        return;
    };
    let claimed = ContentId::of(b"what the client claims");
    let response = app
        .app
        .client
        .put(app.blob_url(&claimed))
        .body(&b"other bytes"[..])
        .send()
        .await
        .unwrap();
    let error = expect_error(response, 422, "content_mismatch").await;
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(&claimed.to_string()), "{message}");
    assert!(
        message.contains(&ContentId::of(b"other bytes").to_string()),
        "{message}"
    );
    assert_eq!(app.stored().await, 0);

    // Larger than a part: on S3 the bytes went out as a multipart upload, which must be aborted.
    let big = blob(PART + PART / 2);
    let response = app
        .app
        .client
        .put(app.blob_url(&claimed))
        .body(streamed(&big, 64 << 10))
        .send()
        .await
        .unwrap();
    expect_error(response, 422, "content_mismatch").await;
    assert_eq!(app.stored().await, 0);

    let response = app
        .app
        .client
        .get(app.blob_url(&claimed))
        .send()
        .await
        .unwrap();
    expect_error(response, 404, "blob_not_found").await;
}

async fn oversized_blob_is_413_and_stores_nothing(store: Store) {
    let limit = PART + PART / 2;
    let Some(app) = BlobApp::start(store, |c| c.max_blob_bytes = limit as u64).await else {
        return;
    };
    let data = blob(limit + 1);
    let id = ContentId::of(&data);
    let url = app.blob_url(&id);
    // Declared by Content-Length: refused before any byte is read.
    let response = app
        .app
        .client
        .put(&url)
        .body(data.clone())
        .send()
        .await
        .unwrap();
    expect_error(response, 413, "payload_too_large").await;
    // Streamed without a length: refused while streaming, past the first part (on S3, mid multipart upload).
    let response = app
        .app
        .client
        .put(&url)
        .body(streamed(&data, 100_000))
        .send()
        .await
        .unwrap();
    expect_error(response, 413, "payload_too_large").await;
    assert_eq!(app.stored().await, 0);

    // At the limit is fine.
    let data = blob(limit);
    let response = app
        .app
        .client
        .put(app.blob_url(&ContentId::of(&data)))
        .body(streamed(&data, 100_000))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(app.stored().await, 1);
}

async fn concurrent_uploads_of_one_blob(store: Store) {
    let Some(app) = BlobApp::start(store, |_| {}).await else {
        return;
    };
    // One blob of a single part and one of several, each uploaded four times at once.
    for len in [200_000, PART + 1000] {
        let data = blob(len);
        let id = ContentId::of(&data);
        let uploads = (0..4).map(|_| {
            app.app
                .client
                .put(app.blob_url(&id))
                .body(streamed(&data, 50_000))
                .send()
        });
        let responses = futures_util::future::join_all(uploads).await;
        let mut created = 0;
        for response in responses {
            let response = response.unwrap();
            let status = response.status().as_u16();
            assert!(status == 201 || status == 200, "{status}");
            let stored: serde_json::Value = response.json().await.unwrap();
            assert_eq!(stored["created"], status == 201);
            created += usize::from(status == 201);
        }
        assert!(created >= 1);
        let bytes = app
            .app
            .client
            .get(app.blob_url(&id))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(ContentId::of(&bytes), id);
    }
    assert_eq!(app.stored().await, 2);
}

async fn big_blob_streamed_in_small_chunks(store: Store) {
    let Some(app) = BlobApp::start(store, |_| {}).await else {
        return;
    };
    // Two full parts and a short last one on S3; 4 KiB chunks on the way in.
    let data = blob(2 * PART + 12_345);
    let id = ContentId::of(&data);
    let response = app
        .app
        .client
        .put(app.blob_url(&id))
        .body(streamed(&data, 4096))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(app.stored().await, 1);

    let response = app.app.client.get(app.blob_url(&id)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-length"], data.len().to_string());
    // Read as a stream: the body arrives in many chunks, not as one buffer.
    let mut chunks = 0;
    let mut received = Vec::with_capacity(data.len());
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        received.extend_from_slice(&chunk.unwrap());
        chunks += 1;
    }
    assert!(chunks > 1, "{chunks}");
    assert_eq!(ContentId::of(&received), id);
}

async fn missing_blob_is_404(store: Store) {
    let Some(app) = BlobApp::start(store, |_| {}).await else {
        return;
    };
    let id = ContentId::of(b"never uploaded");
    let response = app.app.client.get(app.blob_url(&id)).send().await.unwrap();
    let error = expect_error(response, 404, "blob_not_found").await;
    assert!(
        error["message"].as_str().unwrap().contains(&id.to_string()),
        "{error}"
    );
    let response = app.app.anon.head(app.blob_url(&id)).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

async fn interrupted_upload_leaves_nothing(store: Store) {
    let Some(app) = BlobApp::start(store, |_| {}).await else {
        return;
    };
    let data = blob(PART + PART / 2);
    let id = ContentId::of(&data);
    // The client sends more than a part, waits until the server holds the upload (a temporary file, or an S3
    // multipart upload with its first part), then fails its body, which drops the connection mid-upload.
    let bucket = app.bucket.clone();
    let tmp = app.app.blob_dir.path().join("tmp");
    let upload_open = move || {
        let bucket = bucket.clone();
        let tmp = tmp.clone();
        async move {
            match bucket {
                Some(bucket) => bucket.open_uploads().await > 0,
                None => std::fs::read_dir(&tmp).unwrap().count() > 0,
            }
        }
    };
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        data.chunks(64 << 10).map(|c| Ok(c.to_vec())).collect();
    let failure = futures_util::stream::once(async move {
        for _ in 0..200 {
            if upload_open().await {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Err(std::io::Error::other("the client gives up"))
    });
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks).chain(failure));
    let sent = app
        .app
        .client
        .put(app.blob_url(&id))
        .body(body)
        .send()
        .await;
    assert!(sent.is_err(), "{sent:?}");

    // The server notices the broken body (or drops the request) and cleans up after itself.
    let mut left = usize::MAX;
    for _ in 0..200 {
        left = app.stored().await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(left, 0);
    let response = app.app.client.get(app.blob_url(&id)).send().await.unwrap();
    expect_error(response, 404, "blob_not_found").await;
}

#[tokio::test]
async fn s3_url_form_names_bucket_and_prefix() {
    let Some(server) = moto::server() else {
        return;
    };
    let bucket = server.bucket().await;
    let app = TestApp::with(|config| {
        bucket.configure(config);
        config.s3.bucket = None;
        config.blob_store = format!("s3://{}/market/blobs/", bucket.name)
            .parse()
            .unwrap();
    })
    .await;
    let data = blob(1000);
    let id = ContentId::of(&data);
    let response = app
        .client
        .put(app.url(&format!("/v1/blobs/{id}")))
        .body(data)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let hex = &id.to_string()["sha256:".len()..];
    assert_eq!(bucket.keys().await, [format!("market/blobs/sha256/{hex}")]);
    assert_eq!(app.stored_files(), 0);
}

#[tokio::test]
async fn s3_startup_fails_when_the_bucket_cannot_be_reached() {
    let Some(server) = moto::server() else {
        return;
    };
    let bucket = server.bucket().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display()),
        ..Config::default()
    };
    bucket.configure(&mut config);
    config.s3.bucket = Some("tern-no-such-bucket".into());
    let err = Server::bind(config.clone()).await.unwrap_err().to_string();
    assert!(
        err.contains("cannot reach bucket \"tern-no-such-bucket\""),
        "{err}"
    );
    assert!(!err.contains("tern-test-secret"), "{err}");

    config.s3.bucket = None;
    let err = Server::bind(config.clone()).await.unwrap_err().to_string();
    assert!(err.contains("no bucket"), "{err}");

    config.s3.bucket = Some(bucket.name.clone());
    config.s3.part_bytes = 1 << 20;
    let err = Server::bind(config).await.unwrap_err().to_string();
    assert!(err.contains("part_bytes"), "{err}");
}

#[tokio::test]
async fn malformed_id_is_400() {
    let app = TestApp::start().await;
    for bad in [
        "sha256:abc",
        "md5:00",
        "sha256:ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
    ] {
        let response = app
            .client
            .get(app.url(&format!("/v1/blobs/{bad}")))
            .send()
            .await
            .unwrap();
        expect_error(response, 400, "invalid_content_id").await;
        let response = app
            .client
            .put(app.url(&format!("/v1/blobs/{bad}")))
            .body("x")
            .send()
            .await
            .unwrap();
        expect_error(response, 400, "invalid_content_id").await;
    }
    assert_eq!(app.stored_files(), 0);
}

#[tokio::test]
async fn blob_uploads_are_not_held_to_the_json_limit() {
    let app = TestApp::with(|c| {
        c.max_json_bytes = 100;
        c.max_blob_bytes = 100_000;
    })
    .await;
    let data = blob(50_000);
    let id = ContentId::of(&data);
    let response = app
        .client
        .put(app.url(&format!("/v1/blobs/{id}")))
        .body(data)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let response = app
        .client
        .get(app.url(&format!("/v1/blobs/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(ContentId::of(&response.bytes().await.unwrap()), id);
}
