//! `POST /v1/specs/validate`.

use serde_json::Value;
use tern_marketplace::SpecValidated;

use crate::util::{TestApp, expect_error};

const EXAMPLE: &str = include_str!("../../../protocol/examples/job-spec.json");
const EXAMPLE_HASH: &str = "0xa7aa9083de6339bade55f9c52c0329e300c74f563badfbda318183819092eb2e";

fn validate(app: &TestApp, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
    app.client
        .post(app.url("/v1/specs/validate"))
        .header("content-type", "application/json")
        .body(body)
}

#[tokio::test]
async fn valid_spec_gives_its_hash() {
    let app = TestApp::start().await;
    let response = validate(&app, EXAMPLE).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let ok: SpecValidated = response.json().await.unwrap();
    assert_eq!(ok.spec_hash, EXAMPLE_HASH);
    // reward 5 USDT + 3 samples x 0.25 USDT fee.
    assert_eq!(ok.escrow, "5750000");
    let canonical: Value = serde_json::from_str(&ok.canonical_json).unwrap();
    assert_eq!(canonical["training"]["steps"], 100);
    assert!(!ok.canonical_json.contains(' '));
}

#[tokio::test]
async fn invalid_spec_lists_every_field() {
    let app = TestApp::start().await;
    let mut spec: Value = serde_json::from_str(EXAMPLE).unwrap();
    spec["lora"]["rank"] = 0.into();
    spec["training"]["steps"] = 99.into();
    let response = validate(&app, spec.to_string()).send().await.unwrap();
    let error = expect_error(response, 422, "invalid_spec").await;
    let fields: Vec<&str> = error["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["lora.rank", "verification.checkpoint_interval"]);
    assert!(error["fields"][0]["message"].as_str().unwrap().len() > 5);
}

#[tokio::test]
async fn missing_field_is_422_with_its_path() {
    let app = TestApp::start().await;
    let mut spec: Value = serde_json::from_str(EXAMPLE).unwrap();
    spec["training"].as_object_mut().unwrap().remove("steps");
    let response = validate(&app, spec.to_string()).send().await.unwrap();
    let error = expect_error(response, 422, "invalid_spec").await;
    assert_eq!(error["fields"][0]["field"], "training.steps");
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = TestApp::start().await;
    let response = validate(&app, "{\"version\": 1,").send().await.unwrap();
    expect_error(response, 400, "malformed_json").await;
    let response = validate(&app, "").send().await.unwrap();
    expect_error(response, 400, "malformed_json").await;
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let app = TestApp::start().await;
    let response = app
        .client
        .post(app.url("/v1/specs/validate"))
        .header("content-type", "text/plain")
        .body(EXAMPLE)
        .send()
        .await
        .unwrap();
    expect_error(response, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn oversized_json_is_413() {
    let app = TestApp::with(|c| c.max_json_bytes = 256).await;
    let response = validate(&app, EXAMPLE).send().await.unwrap();
    let error = expect_error(response, 413, "payload_too_large").await;
    assert!(error["message"].as_str().unwrap().contains("256"));
}
