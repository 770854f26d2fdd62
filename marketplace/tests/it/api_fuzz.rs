//! A property test over the whole API: whatever method, path, query, headers and body a client sends, the answer
//! is never a 5xx or a dropped connection, and every 4xx is the API's JSON error with a code and a message.
//! The generator is seeded, so a failure replays.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

use tern_contracts::devnet::Devnet;

use crate::util::TestApp;

/// What one generated request is.
#[derive(Debug, Clone)]
struct Request {
    method: &'static str,
    path: String,
    query: Vec<(String, String)>,
    content_type: Option<String>,
    auth: Auth,
    body: Vec<u8>,
}

#[derive(Debug, Clone)]
enum Auth {
    None,
    Session,
    Garbage(String),
}

/// Path segments: ids of the right shape and of every wrong one.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{64}".prop_map(|h| format!("0x{h}")),
        "[0-9a-f]{64}".prop_map(|h| format!("sha256:{h}")),
        "[0-9a-fA-F]{40}".prop_map(|h| format!("0x{h}")),
        "[0-9a-zA-Z_%.-]{0,80}",
        "\\PC{0,20}".prop_map(|s| url_escape(&s)),
        Just("dev_00000000000000000000000000000000".to_string()),
        Just("%00".to_string()),
    ]
}

fn url_escape(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// The service's routes, each with a method it takes (most requests hit a real handler), and some noise.
fn route() -> impl Strategy<Value = (&'static str, String)> {
    const ROUTES: [(&str, &str); 22] = [
        ("GET", "/v1/health"),
        ("GET", "/v1/openapi.json"),
        ("GET", "/metrics"),
        ("POST", "/v1/specs"),
        ("POST", "/v1/specs/validate"),
        ("GET", "/v1/specs/{}"),
        ("PUT", "/v1/blobs/{}"),
        ("GET", "/v1/blobs/{}"),
        ("GET", "/v1/jobs"),
        ("POST", "/v1/jobs"),
        ("GET", "/v1/jobs/{}"),
        ("GET", "/v1/jobs/{}/progress"),
        ("POST", "/v1/jobs/{}/progress"),
        ("GET", "/v1/devices"),
        ("POST", "/v1/devices"),
        ("DELETE", "/v1/devices/{}"),
        ("GET", "/v1/accounts/{}"),
        ("POST", "/v1/auth/nonce"),
        ("POST", "/v1/auth/login"),
        ("POST", "/v1/auth/logout"),
        ("GET", "/v1/auth/session"),
        ("GET", "/{}"),
    ];
    const METHODS: [&str; 6] = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"];
    let real = (prop::sample::select(&ROUTES[..]), segment())
        .prop_map(|((method, template), s)| (method, template.replace("{}", &s)));
    let noise = (
        prop::sample::select(&METHODS[..]),
        prop::sample::select(&ROUTES[..]),
        segment(),
    )
        .prop_map(|(method, (_, template), s)| (method, template.replace("{}", &s)));
    prop_oneof![4 => real, 1 => noise]
}

/// JSON values of any shape, small enough to send quickly.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,30}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Bodies: none, bytes, any JSON, and well-formed requests with one field replaced by any JSON.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let spec: Value =
        serde_json::from_str(include_str!("../../../protocol/examples/job-spec.json")).unwrap();
    const FIELDS: [&str; 8] = [
        "version",
        "base_model",
        "dataset",
        "lora",
        "training",
        "verification",
        "price",
        "deadlines",
    ];
    prop_oneof![
        Just(Vec::new()),
        prop::collection::vec(any::<u8>(), 0..200),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        (prop::sample::select(&FIELDS[..]), json_value()).prop_map(move |(field, value)| {
            let mut spec = spec.clone();
            spec[field] = value;
            serde_json::to_vec(&json!({ "spec": spec.clone() })).unwrap()
        }),
        ("\\PC{0,300}", "\\PC{0,140}").prop_map(|(message, signature)| {
            serde_json::to_vec(&json!({"message": message, "signature": signature})).unwrap()
        }),
        (json_value(), json_value()).prop_map(|(name, probe)| {
            serde_json::to_vec(&json!({"name": name, "probe": probe})).unwrap()
        }),
        (any::<i64>(), json_value()).prop_map(|(step, loss)| {
            serde_json::to_vec(&json!({"step": step, "loss": loss, "tokens_per_second": 1.0}))
                .unwrap()
        }),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    const KEYS: [&str; 11] = [
        "state",
        "requester",
        "worker",
        "verifier",
        "min_reward",
        "limit",
        "cursor",
        "owner",
        "address",
        "after_step",
        "x",
    ];
    (
        route(),
        prop::collection::vec(
            (
                prop::sample::select(&KEYS[..]).prop_map(String::from),
                "[^&#]{0,30}",
            ),
            0..3,
        ),
        prop_oneof![
            1 => Just(None),
            3 => Just(Some("application/json".to_string())),
            1 => Just(Some("application/octet-stream".to_string())),
            1 => "[ -~]{0,40}".prop_map(Some),
        ],
        prop_oneof![
            1 => Just(Auth::None),
            3 => Just(Auth::Session),
            1 => "[ -~]{0,80}".prop_map(Auth::Garbage),
        ],
        body(),
    )
        .prop_map(
            |((method, path), query, content_type, auth, body)| Request {
                method,
                path,
                query,
                content_type,
                auth,
                body,
            },
        )
}

#[test]
fn no_request_gets_a_5xx_and_every_error_is_json() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // On a real chain, so job posting runs all the way (a service without one answers it 503, by design).
    let devnet = runtime
        .block_on(Devnet::spawn())
        .expect("anvil (run deploy/toolchain.sh)");
    let app = runtime.block_on(TestApp::with(|c| {
        c.max_json_bytes = 64 << 10;
        c.rpc_url = Some(devnet.endpoint());
        c.market_address = Some(devnet.market());
        c.start_block = devnet.deploy_block();
    }));
    let wallet = crate::util::wallet(3);
    // A generated logout ends the session: sign in again after one, so later requests still reach handlers.
    let token = std::sync::Mutex::new(runtime.block_on(app.sign_in(&wallet)));
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 600,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    runner
        .run(&request(), |request| {
            let (status, content_type, body) = runtime.block_on(async {
                let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
                let query: Vec<String> = request
                    .query
                    .iter()
                    .map(|(k, v)| format!("{k}={}", url_escape(v)))
                    .collect();
                let url = format!("{}?{}", app.url(&request.path), query.join("&"));
                let mut builder = app.anon.request(method, url);
                if let Some(content_type) = &request.content_type {
                    builder = builder.header("content-type", content_type.as_str());
                }
                builder = match &request.auth {
                    Auth::None => builder,
                    Auth::Session => builder.bearer_auth(token.lock().unwrap().as_str()),
                    Auth::Garbage(value) => builder.header("authorization", value.as_str()),
                };
                let response = builder
                    .body(request.body.clone())
                    .send()
                    .await
                    .map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
                let status = response.status().as_u16();
                let content_type = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let body = response.bytes().await.unwrap_or_default();
                Ok::<_, TestCaseError>((status, content_type, body))
            })?;
            if request.path == "/v1/auth/logout" && status == 204 {
                *token.lock().unwrap() = runtime.block_on(app.sign_in(&wallet));
            }
            prop_assert!(
                status < 500,
                "{request:?} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
            if status >= 400 && request.method != "HEAD" {
                prop_assert_eq!(content_type.as_str(), "application/json", "{:?}", request);
                let error: Value = serde_json::from_slice(&body).map_err(|e| {
                    TestCaseError::fail(format!("{request:?}: error body is not JSON: {e}"))
                })?;
                prop_assert!(
                    error["error"]["code"]
                        .as_str()
                        .is_some_and(|c| !c.is_empty()),
                    "{}",
                    error
                );
                prop_assert!(
                    error["error"]["message"]
                        .as_str()
                        .is_some_and(|m| !m.is_empty()),
                    "{}",
                    error
                );
            }
            Ok(())
        })
        .unwrap();
    // The service is still up after all of it.
    let health = runtime.block_on(async {
        app.anon
            .get(app.url("/v1/health"))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(health, 200);
    drop(app);
}
