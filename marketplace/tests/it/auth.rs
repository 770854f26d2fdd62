//! Wallet sign-in (EIP-4361): nonces work once, sessions open and close, and each refusal says why.

use serde_json::{Value, json};
use tern_protocol::ContentId;

use crate::on_both_backends;
use crate::util::{Backend, TestApp, client_with, expect_error, sign, wallet};

/// A nonce and the message `seed`'s wallet signs with it.
async fn message_for(app: &TestApp, seed: u8) -> String {
    let issued: Value = app
        .anon
        .post(app.url(&format!(
            "/v1/auth/nonce?address={}",
            wallet(seed).address()
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        issued["domain"],
        app.addr
            .to_string()
            .replace(&app.addr.port().to_string(), "8080")
    );
    assert_eq!(issued["chain_id"], 31337);
    assert_eq!(issued["nonce"].as_str().unwrap().len(), 22);
    issued["message"].as_str().unwrap().to_string()
}

async fn login(app: &TestApp, message: &str, signature: &str) -> reqwest::Response {
    app.anon
        .post(app.url("/v1/auth/login"))
        .json(&json!({"message": message, "signature": signature}))
        .send()
        .await
        .unwrap()
}

async fn sign_in_replay_and_sign_out(backend: Backend) {
    let Some(app) = TestApp::on_backend(backend).await else {
        return;
    };
    let alice = wallet(7);
    let message = message_for(&app, 7).await;
    let signature = sign(&alice, &message);
    let response = login(&app, &message, &signature).await;
    assert_eq!(response.status(), 200);
    let session: Value = response.json().await.unwrap();
    assert_eq!(session["address"], alice.address().to_checksum(None));
    let token = session["token"].as_str().unwrap();

    // The same signed message again: its nonce is used up.
    let replay = login(&app, &message, &signature).await;
    expect_error(replay, 401, "nonce_invalid").await;

    let client = client_with(token);
    let who: Value = client
        .get(app.url("/v1/auth/session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(who["address"], alice.address().to_checksum(None));

    let out = client
        .post(app.url("/v1/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let after = client
        .get(app.url("/v1/auth/session"))
        .send()
        .await
        .unwrap();
    expect_error(after, 401, "session_expired").await;
}

async fn one_nonce_opens_one_session_under_a_race(backend: Backend) {
    let Some(app) = TestApp::on_backend(backend).await else {
        return;
    };
    let message = message_for(&app, 9).await;
    let signature = sign(&wallet(9), &message);
    let attempts = (0..8).map(|_| login(&app, &message, &signature));
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 401),
        "{statuses:?}"
    );
}

on_both_backends!(
    sign_in_replay_and_sign_out,
    one_nonce_opens_one_session_under_a_race
);

#[tokio::test]
async fn a_wrong_signer_is_refused_without_burning_the_nonce() {
    let app = TestApp::start().await;
    let message = message_for(&app, 7).await;
    let forged = login(&app, &message, &sign(&wallet(8), &message)).await;
    let error = expect_error(forged, 401, "bad_signature").await;
    assert!(
        error["message"].as_str().unwrap().contains("EIP-191"),
        "{error}"
    );
    let honest = login(&app, &message, &sign(&wallet(7), &message)).await;
    assert_eq!(honest.status(), 200);
}

#[tokio::test]
async fn a_nonce_the_service_never_issued_is_refused() {
    let app = TestApp::start().await;
    let message = message_for(&app, 7).await;
    let nonce = message
        .lines()
        .find_map(|l| l.strip_prefix("Nonce: "))
        .unwrap();
    let invented = message.replace(nonce, "madeUpNonce12345");
    let response = login(&app, &invented, &sign(&wallet(7), &invented)).await;
    expect_error(response, 401, "nonce_invalid").await;
}

#[tokio::test]
async fn messages_for_another_site_or_chain_are_refused() {
    let app = TestApp::start().await;
    let message = message_for(&app, 7).await;
    for (from, to) in [
        ("127.0.0.1:8080 wants", "evil.example wants"),
        ("Chain ID: 31337", "Chain ID: 1"),
        ("URI: http://127.0.0.1:8080", "URI: http://evil.example"),
    ] {
        let altered = message.replace(from, to);
        let response = login(&app, &altered, &sign(&wallet(7), &altered)).await;
        let error = expect_error(response, 401, "sign_in_refused").await;
        assert!(
            error["message"].as_str().unwrap().contains("sign"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn malformed_logins_are_4xx_and_name_the_problem() {
    let app = TestApp::start().await;
    let missing = app
        .anon
        .post(app.url("/v1/auth/login"))
        .json(&json!({"message": "x"}))
        .send()
        .await
        .unwrap();
    let error = expect_error(missing, 422, "invalid_body").await;
    assert!(
        error["message"].as_str().unwrap().contains("signature"),
        "{error}"
    );

    let not_json = app
        .anon
        .post(app.url("/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    expect_error(not_json, 400, "malformed_json").await;

    let garbage = login(&app, "hello", &sign(&wallet(7), "hello")).await;
    expect_error(garbage, 400, "malformed_sign_in_message").await;

    let message = message_for(&app, 7).await;
    let short = login(&app, &message, "0x1234").await;
    expect_error(short, 400, "malformed_signature").await;

    let bad_address = app
        .anon
        .post(app.url("/v1/auth/nonce?address=0x12"))
        .send()
        .await
        .unwrap();
    expect_error(bad_address, 422, "invalid_body").await;
}

#[tokio::test]
async fn requests_without_a_live_session_are_401() {
    let app = TestApp::with(|c| c.session_ttl_secs = 1).await;
    let none = app
        .anon
        .get(app.url("/v1/auth/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    expect_error(none, 401, "unauthenticated").await;

    let unknown = client_with("tern_0000")
        .get(app.url("/v1/auth/session"))
        .send()
        .await
        .unwrap();
    expect_error(unknown, 401, "session_expired").await;

    // The test app's own session lasts one second.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let expired = app
        .client
        .get(app.url("/v1/auth/session"))
        .send()
        .await
        .unwrap();
    expect_error(expired, 401, "session_expired").await;
}

#[tokio::test]
async fn uploads_need_a_session_and_stay_within_the_quota() {
    let app = TestApp::with(|c| c.upload_quota_bytes = 100).await;
    let data = vec![7u8; 60];
    let url = app.url(&format!("/v1/blobs/{}", ContentId::of(&data)));
    let anonymous = app.anon.put(&url).body(data.clone()).send().await.unwrap();
    expect_error(anonymous, 401, "unauthenticated").await;
    assert_eq!(app.stored_files(), 0);

    let first = app.client.put(&url).body(data).send().await.unwrap();
    assert_eq!(first.status(), 201);

    let more = vec![8u8; 60];
    let more_url = app.url(&format!("/v1/blobs/{}", ContentId::of(&more)));
    let over = app
        .client
        .put(&more_url)
        .body(more.clone())
        .send()
        .await
        .unwrap();
    let error = expect_error(over, 429, "upload_quota_exceeded").await;
    assert!(error["message"].as_str().unwrap().contains("60"), "{error}");
    let streamed = app
        .client
        .put(&more_url)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter([
            Ok::<_, std::io::Error>(more.clone()),
        ])))
        .send()
        .await
        .unwrap();
    expect_error(streamed, 429, "upload_quota_exceeded").await;
    assert_eq!(app.stored_files(), 1);

    // Another address has its own quota.
    let bob = client_with(&app.sign_in(&wallet(2)).await);
    let other = bob.put(&more_url).body(more).send().await.unwrap();
    assert_eq!(other.status(), 201);
}

/// `n` nonce requests from `client`, with `X-Forwarded-For: forwarded` when given; their statuses.
async fn nonce_statuses(app: &TestApp, n: usize, forwarded: Option<&str>) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        let mut request = app.anon.post(app.url("/v1/auth/nonce"));
        if let Some(ip) = forwarded {
            request = request.header("x-forwarded-for", ip);
        }
        statuses.push(request.send().await.unwrap().status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_client() {
    let app = TestApp::with(|c| {
        c.sign_in_burst = 3;
        c.sign_in_per_minute = 1;
    })
    .await;
    // The test app's own sign-in used two of the three; one more, then refusals.
    let statuses = nonce_statuses(&app, 2, None).await;
    assert_eq!(statuses, [200, 429]);
    let refused = app
        .anon
        .post(app.url("/v1/auth/nonce"))
        .send()
        .await
        .unwrap();
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let error = expect_error(refused, 429, "rate_limited").await;
    assert!(
        error["message"].as_str().unwrap().contains("wait"),
        "{error}"
    );
    // A forwarding header does not buy a new allowance unless the service is told to trust it.
    assert_eq!(nonce_statuses(&app, 1, Some("203.0.113.7")).await, [429]);
    // The rest of the API is not limited.
    let jobs = app.anon.get(app.url("/v1/jobs")).send().await.unwrap();
    assert_eq!(jobs.status(), 200);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_allowance() {
    let app = TestApp::with(|c| {
        c.sign_in_burst = 2;
        c.sign_in_per_minute = 1;
        c.trust_forwarded_for = true;
    })
    .await;
    assert_eq!(
        nonce_statuses(&app, 3, Some("203.0.113.7")).await,
        [200, 200, 429]
    );
    assert_eq!(
        nonce_statuses(&app, 3, Some("203.0.113.8")).await,
        [200, 200, 429]
    );
}
