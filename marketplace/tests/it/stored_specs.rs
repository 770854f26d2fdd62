//! `POST /v1/specs` and `GET /v1/specs/{spec_hash}`, each test run against SQLite and PostgreSQL.

use serde_json::Value;
use sqlx::Connection;
use tern_marketplace::SpecValidated;

use crate::on_both_backends;
use crate::util::{Backend, TestApp, TestDb, expect_error};

const EXAMPLE: &str = include_str!("../../../protocol/examples/job-spec.json");
const EXAMPLE_HASH: &str = "0xa7aa9083de6339bade55f9c52c0329e300c74f563badfbda318183819092eb2e";

on_both_backends!(
    store_then_fetch,
    repost_is_idempotent,
    invalid_spec_is_422_and_stores_nothing,
    unknown_hash_is_404,
    malformed_hash_is_400,
    specs_survive_a_restart,
    database_failure_is_a_generic_500,
    a_spec_tampered_in_the_database_is_not_served,
);

fn post(app: &TestApp, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
    app.client
        .post(app.url("/v1/specs"))
        .header("content-type", "application/json")
        .body(body)
}

async fn fetch(app: &TestApp, spec_hash: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/v1/specs/{spec_hash}")))
        .send()
        .await
        .unwrap()
}

async fn store_then_fetch(backend: Backend) {
    let Some(app) = TestApp::on_backend(backend).await else {
        return;
    };
    let response = post(&app, EXAMPLE).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let stored: SpecValidated = response.json().await.unwrap();
    assert_eq!(stored.spec_hash, EXAMPLE_HASH);
    assert_eq!(stored.escrow, "5750000");

    let response = fetch(&app, EXAMPLE_HASH).await;
    assert_eq!(response.status(), 200);
    let fetched: SpecValidated = response.json().await.unwrap();
    assert_eq!(fetched.spec_hash, EXAMPLE_HASH);
    assert_eq!(fetched.canonical_json, stored.canonical_json);
    assert_eq!(fetched.escrow, "5750000");

    // The same body as /v1/specs/validate.
    let validated: Value = app
        .client
        .post(app.url("/v1/specs/validate"))
        .header("content-type", "application/json")
        .body(EXAMPLE)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(validated, serde_json::to_value(&fetched).unwrap());
}

async fn repost_is_idempotent(backend: Backend) {
    let Some(app) = TestApp::on_backend(backend).await else {
        return;
    };
    let first = post(&app, EXAMPLE).send().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    // The same spec written differently (keys in reverse order, other whitespace) has the same canonical form.
    let object: serde_json::Map<String, Value> = serde_json::from_str(EXAMPLE).unwrap();
    let reordered = format!(
        "{{\n  {}\n}}",
        object
            .iter()
            .rev()
            .map(|(key, value)| format!("{}: {value}", Value::from(key.as_str())))
            .collect::<Vec<_>>()
            .join(",\n  ")
    );
    assert_ne!(reordered.trim(), EXAMPLE.trim());
    for body in [EXAMPLE.to_string(), reordered] {
        let again = post(&app, body).send().await.unwrap();
        assert_eq!(again.status(), 200);
        let again: Value = again.json().await.unwrap();
        assert_eq!(again, first);
    }
}

async fn invalid_spec_is_422_and_stores_nothing(backend: Backend) {
    let Some(app) = TestApp::on_backend(backend).await else {
        return;
    };
    let mut spec: Value = serde_json::from_str(EXAMPLE).unwrap();
    spec["lora"]["rank"] = 0.into();
    let response = post(&app, spec.to_string()).send().await.unwrap();
    let error = expect_error(response, 422, "invalid_spec").await;
    assert_eq!(error["fields"][0]["field"], "lora.rank");
    let response = post(&app, "{\"version\": 1,").send().await.unwrap();
    expect_error(response, 400, "malformed_json").await;

    // Nothing stored: the valid spec is new afterwards.
    let response = fetch(&app, EXAMPLE_HASH).await;
    expect_error(response, 404, "spec_not_found").await;
    let response = post(&app, EXAMPLE).send().await.unwrap();
    assert_eq!(response.status(), 201);
}

async fn unknown_hash_is_404(backend: Backend) {
    let Some(app) = TestApp::on_backend(backend).await else {
        return;
    };
    let unknown = format!("0x{}", "ab".repeat(32));
    let response = fetch(&app, &unknown).await;
    let error = expect_error(response, 404, "spec_not_found").await;
    assert!(error["message"].as_str().unwrap().contains(&unknown));
}

async fn malformed_hash_is_400(backend: Backend) {
    let Some(app) = TestApp::on_backend(backend).await else {
        return;
    };
    for bad in [
        "0x12".to_string(),
        "ab".repeat(32),
        format!("0x{}", "AB".repeat(32)),
        format!("0x{}", "zz".repeat(32)),
        format!("0x{}", "ab".repeat(33)),
    ] {
        let response = fetch(&app, &bad).await;
        expect_error(response, 400, "invalid_spec_hash").await;
    }
}

async fn specs_survive_a_restart(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = TestApp::on(&db.url, |_| {}).await;
    let response = post(&app, EXAMPLE).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let stored: SpecValidated = response.json().await.unwrap();
    app.stop().await;

    // A new server on the same database (migrations run again and find nothing to do).
    let app = TestApp::on(&db.url, |_| {}).await;
    let response = fetch(&app, EXAMPLE_HASH).await;
    assert_eq!(response.status(), 200);
    let fetched: SpecValidated = response.json().await.unwrap();
    assert_eq!(fetched.canonical_json, stored.canonical_json);
    let response = post(&app, EXAMPLE).send().await.unwrap();
    assert_eq!(response.status(), 200);
    app.stop().await;
    drop(db);
}

async fn database_failure_is_a_generic_500(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = TestApp::on(&db.url, |_| {}).await;
    // Break the schema behind the server's back.
    const DROP: &str = "DROP TABLE specs";
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query(DROP).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query(DROP).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
    }
    let response = post(&app, EXAMPLE).send().await.unwrap();
    let error = expect_error(response, 500, "internal").await;
    let message = error["message"].as_str().unwrap();
    assert!(
        !message.contains("specs") && !message.to_lowercase().contains("table"),
        "{message}"
    );
    let response = fetch(&app, EXAMPLE_HASH).await;
    expect_error(response, 500, "internal").await;
    app.stop().await;
}

async fn a_spec_tampered_in_the_database_is_not_served(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = TestApp::on(&db.url, |_| {}).await;
    assert_eq!(post(&app, EXAMPLE).send().await.unwrap().status(), 201);
    // Someone with database access lowers the reward of the stored spec.
    const TAMPER: &str =
        "UPDATE specs SET canonical_json = REPLACE(canonical_json, '5000000', '1000000')";
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query(TAMPER).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query(TAMPER).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
    }
    let response = fetch(&app, EXAMPLE_HASH).await;
    expect_error(response, 500, "internal").await;
    app.stop().await;
}
