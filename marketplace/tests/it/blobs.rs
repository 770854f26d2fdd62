//! `PUT`/`GET`/`HEAD /v1/blobs/{content_id}`.

use tern_protocol::ContentId;

use crate::util::{TestApp, expect_error};

fn blob(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test]
async fn upload_then_download() {
    let app = TestApp::start().await;
    let data = blob(300_000);
    let id = ContentId::of(&data);
    let url = app.url(&format!("/v1/blobs/{id}"));

    let response = app
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

    // Idempotent.
    let response = app
        .client
        .put(&url)
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(app.stored_files(), 1);

    let response = app.client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-length"], "300000");
    let bytes = response.bytes().await.unwrap();
    assert_eq!(ContentId::of(&bytes), id);
    assert_eq!(&bytes[..], &data[..]);

    let response = app.client.head(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-length"], "300000");
}

#[tokio::test]
async fn wrong_hash_is_422_and_stores_nothing() {
    let app = TestApp::start().await;
    let claimed = ContentId::of(b"what the client claims");
    let response = app
        .client
        .put(app.url(&format!("/v1/blobs/{claimed}")))
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
    assert_eq!(app.stored_files(), 0);
    let response = app
        .client
        .get(app.url(&format!("/v1/blobs/{claimed}")))
        .send()
        .await
        .unwrap();
    expect_error(response, 404, "blob_not_found").await;
}

#[tokio::test]
async fn oversized_blob_is_413_and_stores_nothing() {
    let app = TestApp::with(|c| c.max_blob_bytes = 1000).await;
    let data = blob(1001);
    let id = ContentId::of(&data);
    let url = app.url(&format!("/v1/blobs/{id}"));
    // Declared by Content-Length.
    let response = app
        .client
        .put(&url)
        .body(data.clone())
        .send()
        .await
        .unwrap();
    expect_error(response, 413, "payload_too_large").await;
    // Streamed without a length: refused while streaming.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        data.chunks(100).map(|c| Ok(c.to_vec())).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let response = app.client.put(&url).body(body).send().await.unwrap();
    expect_error(response, 413, "payload_too_large").await;
    assert_eq!(app.stored_files(), 0);

    // At the limit is fine.
    let data = blob(1000);
    let response = app
        .client
        .put(app.url(&format!("/v1/blobs/{}", ContentId::of(&data))))
        .body(data)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
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
