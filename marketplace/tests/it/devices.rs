//! Workers' devices: registered by their owner's session, listed by anyone, removed only by the owner.

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::util::{Backend, TestApp, client_with, expect_error, wallet};

fn probe(memory_bytes: u64) -> Value {
    json!({"backend": "vulkan", "adapter": "llvmpipe", "memory_bytes": memory_bytes, "threads": 2})
}

async fn register_refresh_list_and_remove(backend: Backend) {
    let Some(app) = TestApp::on_backend(backend).await else {
        return;
    };
    let url = app.url("/v1/devices");
    let first = app
        .client
        .post(&url)
        .json(&json!({"name": "desk", "probe": probe(1 << 30)}))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["owner"], wallet(1).address().to_checksum(None));
    assert_eq!(first["probe"]["backend"], "vulkan");

    // The same name again refreshes the probe of the same device.
    let again = app
        .client
        .post(&url)
        .json(&json!({"name": "desk", "probe": probe(2 << 30)}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["device_id"], first["device_id"]);
    assert_eq!(again["probe"]["memory_bytes"], 2u64 << 30);
    assert_eq!(again["created_at"], first["created_at"]);

    let bob = client_with(&app.sign_in(&wallet(2)).await);
    let bobs = bob
        .post(&url)
        .json(&json!({"name": "desk", "probe": probe(1 << 30)}))
        .send()
        .await
        .unwrap();
    assert_eq!(bobs.status(), 201);
    let bobs: Value = bobs.json().await.unwrap();
    assert_ne!(bobs["device_id"], first["device_id"]);

    let alice = wallet(1).address();
    let listed: Value = app
        .anon
        .get(app.url(&format!("/v1/devices?owner={alice}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let devices = listed["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0]["device_id"], first["device_id"]);
    let everyone: Value = app
        .anon
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(everyone["devices"].as_array().unwrap().len(), 2);

    let id = first["device_id"].as_str().unwrap();
    let device_url = app.url(&format!("/v1/devices/{id}"));
    let stolen = bob.delete(&device_url).send().await.unwrap();
    expect_error(stolen, 403, "forbidden").await;
    let removed = app.client.delete(&device_url).send().await.unwrap();
    assert_eq!(removed.status(), 204);
    let gone = app.client.delete(&device_url).send().await.unwrap();
    expect_error(gone, 404, "device_not_found").await;
}

on_both_backends!(register_refresh_list_and_remove);

#[tokio::test]
async fn bad_registrations_are_refused_and_store_nothing() {
    let app = TestApp::start().await;
    let url = app.url("/v1/devices");
    let anonymous = app
        .anon
        .post(&url)
        .json(&json!({"name": "desk", "probe": probe(1)}))
        .send()
        .await
        .unwrap();
    expect_error(anonymous, 401, "unauthenticated").await;

    let missing = app
        .client
        .post(&url)
        .json(&json!({"name": "desk"}))
        .send()
        .await
        .unwrap();
    let error = expect_error(missing, 422, "invalid_body").await;
    assert!(
        error["message"].as_str().unwrap().contains("probe"),
        "{error}"
    );

    let unknown_backend = app
        .client
        .post(&url)
        .json(&json!({"name": "desk", "probe": {"backend": "tpu", "adapter": "x", "memory_bytes": 1, "threads": 1}}))
        .send()
        .await
        .unwrap();
    let error = expect_error(unknown_backend, 422, "invalid_body").await;
    assert_eq!(error["fields"][0]["field"], "probe.backend");

    let out_of_range = app
        .client
        .post(&url)
        .json(&json!({"name": "", "probe": probe(0)}))
        .send()
        .await
        .unwrap();
    let error = expect_error(out_of_range, 422, "invalid_fields").await;
    let fields: Vec<&str> = error["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "probe.memory_bytes"]);

    for query in ["owner=0x12", "limit=0", "limit=501"] {
        let response = app
            .anon
            .get(app.url(&format!("/v1/devices?{query}")))
            .send()
            .await
            .unwrap();
        expect_error(response, 400, "invalid_query").await;
    }
    let listed: Value = app
        .anon
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed["devices"].as_array().unwrap().is_empty());
}
