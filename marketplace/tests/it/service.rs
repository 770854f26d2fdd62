//! Health, the OpenAPI document, metrics, unknown routes.

use serde_json::Value;

use crate::util::{TestApp, expect_error};

#[tokio::test]
async fn health() {
    let app = TestApp::start().await;
    let body: Value = app
        .client
        .get(app.url("/v1/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn openapi_lists_the_paths() {
    let app = TestApp::start().await;
    let response = app
        .client
        .get(app.url("/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/v1/health",
        "/v1/openapi.json",
        "/v1/specs/validate",
        "/v1/specs",
        "/v1/specs/{spec_hash}",
        "/v1/blobs/{content_id}",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from {:?}",
            paths.keys()
        );
    }
    let blob = &paths["/v1/blobs/{content_id}"];
    assert!(blob["get"].is_object() && blob["put"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}

#[tokio::test]
async fn metrics_count_requests() {
    let app = TestApp::start().await;
    app.client.get(app.url("/v1/health")).send().await.unwrap();
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("tern_market_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/v1/health\""), "{text}");
}

#[tokio::test]
async fn unknown_route_and_method_are_json() {
    let app = TestApp::start().await;
    let response = app.client.get(app.url("/v1/nope")).send().await.unwrap();
    expect_error(response, 404, "not_found").await;
    let response = app
        .client
        .delete(app.url("/v1/health"))
        .send()
        .await
        .unwrap();
    expect_error(response, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn bad_database_url_is_a_startup_error() {
    let blob_dir = tempfile::tempdir().unwrap();
    for (url, expected) in [
        ("mysql://u:hunter2@h/db", "unsupported database URL"),
        ("market.db", "unsupported database URL"),
        ("postgres://u@127.0.0.1:notaport/db", "invalid database URL"),
    ] {
        let config = tern_marketplace::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            blob_dir: blob_dir.path().to_path_buf(),
            database_url: url.to_string(),
            ..tern_marketplace::Config::default()
        };
        let err = tern_marketplace::Server::bind(config).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains(expected), "{url}: {text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
