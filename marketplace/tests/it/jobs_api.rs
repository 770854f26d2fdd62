//! `GET /v1/jobs` and `GET /v1/jobs/{job_id}` over a server that indexes a real anvil, on SQLite and PostgreSQL.

use std::collections::HashSet;

use serde_json::Value;
use tern_contracts::devnet::Role;

use crate::chain_util::{Chain, eventually, job_hex};
use crate::on_both_backends;
use crate::util::{Backend, TestApp, TestDb, expect_error};

on_both_backends!(jobs_api);

const USDT: u64 = 1_000_000;

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let response = get(app, path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<String> {
    page["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job_id"].as_str().unwrap().to_string())
        .collect()
}

/// Every job matching `query`, page by page with `limit`; checks that the pages neither repeat nor skip.
async fn walk(app: &TestApp, query: &str, limit: usize) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/jobs?limit={limit}{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = get_json(app, &path).await;
        let page_ids = ids(&page);
        assert!(page_ids.len() <= limit);
        all.extend(page_ids);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a job on two pages: {all:?}");
    all
}

async fn jobs_api(backend: Backend) {
    let Some(test_db) = TestDb::new(backend).await else {
        return;
    };
    let chain = Chain::start().await;
    let app = TestApp::on(&test_db.url, chain.server_config(0)).await;
    let other = chain.devnet.client(Role::Extra(0)).await.unwrap();

    // Six jobs, in this order: four from the requester, two from another account; two of them claimed.
    let mut created = Vec::new();
    for (i, reward) in [10, 20, 30, 40].into_iter().enumerate() {
        let params = chain.params(&format!("api{i}"), reward * USDT).await;
        created.push(chain.create_job_from(&chain.requester, &params).await);
    }
    for (i, reward) in [25, 35].into_iter().enumerate() {
        let params = chain.params(&format!("other{i}"), reward * USDT).await;
        created.push(chain.create_job_from(&other, &params).await);
    }
    chain.stake_worker(2).await;
    chain.worker.claim_job(created[1]).await.unwrap();
    chain.worker.claim_job(created[4]).await.unwrap();
    let app_ref = &app;
    eventually("six jobs, two claimed", || async move {
        let claimed = get_json(app_ref, "/v1/jobs?state=claimed").await;
        let all = get_json(app_ref, "/v1/jobs").await;
        (ids(&all).len() == 6 && ids(&claimed).len() == 2).then_some(())
    })
    .await;
    let newest_first: Vec<String> = created.iter().rev().map(|id| job_hex(*id)).collect();

    // Everything, newest first, on one page.
    let all = get_json(&app, "/v1/jobs").await;
    assert_eq!(ids(&all), newest_first);
    assert!(all["next_cursor"].is_null());
    let oldest = &all["jobs"][5];
    assert_eq!(oldest["reward"], "10000000");
    assert_eq!(oldest["verifier_fee"], "2000000");
    assert_eq!(oldest["worker_bond"], "50000000");
    assert_eq!(oldest["state"], "open");
    assert!(
        oldest["worker"].is_null()
            && oldest["trace_root"].is_null()
            && oldest["adapter_hash"].is_null()
    );
    assert_eq!(
        oldest["requester"],
        alloy::hex::encode_prefixed(chain.requester.sender())
    );
    assert_eq!(
        (
            oldest["total_steps"].as_u64(),
            oldest["sample_count"].as_u64()
        ),
        (Some(60), Some(3))
    );

    // Pages of every size give the same list, without repeats or gaps.
    for limit in [1, 4, 5, 6, 200] {
        assert_eq!(walk(&app, "", limit).await, newest_first, "limit {limit}");
    }

    // Filters, alone, combined, and paginated.
    let worker = alloy::hex::encode_prefixed(chain.worker.sender());
    let claimed = get_json(&app, "/v1/jobs?state=claimed").await;
    assert_eq!(ids(&claimed), [job_hex(created[4]), job_hex(created[1])]);
    assert!(
        claimed["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["worker"] == worker.as_str())
    );
    assert_eq!(
        ids(&get_json(&app, &format!("/v1/jobs?worker={worker}")).await),
        ids(&claimed)
    );
    assert_eq!(walk(&app, "&state=open", 3).await.len(), 4);
    // A checksummed address is accepted.
    let other_ids = walk(&app, &format!("&requester={}", other.sender()), 1).await;
    assert_eq!(other_ids, [job_hex(created[5]), job_hex(created[4])]);
    let rich = get_json(&app, &format!("/v1/jobs?min_reward={}", 30 * USDT)).await;
    assert_eq!(
        ids(&rich),
        [
            job_hex(created[5]),
            job_hex(created[3]),
            job_hex(created[2])
        ]
    );
    // 100 > 99 although "100" < "99" as text: amounts compare as numbers.
    assert_eq!(
        ids(&get_json(&app, "/v1/jobs?min_reward=100").await).len(),
        6
    );
    let query = format!(
        "&min_reward={}&state=open&requester={}",
        20 * USDT,
        chain.requester.sender()
    );
    assert_eq!(
        walk(&app, &query, 1).await,
        [job_hex(created[3]), job_hex(created[2])]
    );

    // One job with its timeline.
    let detail = get_json(&app, &format!("/v1/jobs/{}", job_hex(created[1]))).await;
    assert_eq!(detail["job_id"], job_hex(created[1]));
    assert_eq!(detail["state"], "claimed");
    assert_eq!(detail["reward"], "20000000");
    let kinds: Vec<_> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "JobCreated",
            "JobStateChanged",
            "JobStateChanged",
            "JobClaimed"
        ]
    );
    let claim = &detail["events"][3];
    assert_eq!(claim["data"]["worker"], worker.as_str());
    assert!(
        claim["block_number"].as_u64().unwrap()
            > detail["events"][0]["block_number"].as_u64().unwrap()
    );
    assert_eq!(claim["tx_hash"].as_str().unwrap().len(), 66);
    // Either case of hex is the same job.
    let upper = format!("0x{}", job_hex(created[1])[2..].to_uppercase());
    assert_eq!(
        get_json(&app, &format!("/v1/jobs/{upper}")).await["job_id"],
        job_hex(created[1])
    );

    // 404 and 400s, each naming what is wrong.
    let unknown = format!("0x{}", "ab".repeat(32));
    let error = expect_error(
        get(&app, &format!("/v1/jobs/{unknown}")).await,
        404,
        "job_not_found",
    )
    .await;
    assert!(error["message"].as_str().unwrap().contains(&unknown));
    expect_error(get(&app, "/v1/jobs/0x1234").await, 400, "invalid_job_id").await;
    for (query, param) in [
        ("state=bogus", "state"),
        ("requester=0x12", "requester"),
        ("worker=alice", "worker"),
        ("min_reward=-5", "min_reward"),
        ("min_reward=1.5", "min_reward"),
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
        ("limit=ten", "limit"),
        ("cursor=yesterday", "cursor"),
        ("sort=asc", "sort"),
        ("state=open&state=claimed", "state"),
    ] {
        let error = expect_error(
            get(&app, &format!("/v1/jobs?{query}")).await,
            400,
            "invalid_query",
        )
        .await;
        assert_eq!(error["fields"][0]["field"], param, "{query}: {error}");
        assert!(
            error["message"].as_str().unwrap().contains(param),
            "{error}"
        );
    }
    let error = expect_error(
        get(&app, "/v1/jobs?state=bogus").await,
        400,
        "invalid_query",
    )
    .await;
    assert!(
        error["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("open, claimed"),
        "{error}"
    );

    // The indexer's metrics.
    let metrics = get(&app, "/metrics").await.text().await.unwrap();
    for name in [
        "tern_market_indexer_last_block",
        "tern_market_indexer_events_total",
        "tern_market_leader",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }

    // The OpenAPI document lists both.
    let doc = get_json(&app, "/v1/openapi.json").await;
    assert!(doc["paths"]["/v1/jobs"]["get"].is_object());
    assert!(doc["paths"]["/v1/jobs/{job_id}"]["get"].is_object());
    assert!(doc["components"]["schemas"]["Job"].is_object());
    app.stop().await;
}
