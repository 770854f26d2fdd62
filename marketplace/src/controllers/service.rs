//! `GET /v1/health`, `GET /v1/openapi.json`, `GET /metrics`.

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::router::AppState;

/// The service is up.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
    /// The service's version.
    pub version: String,
    /// Whether this replica is the leader: the one that runs the chain indexer (of replicas sharing a PostgreSQL
    /// database, exactly one is; on SQLite the process always is).
    #[serde(default)]
    pub leader: bool,
}

/// `GET /v1/health`
#[utoipa::path(get, path = "/v1/health", tag = "service",
    responses((status = 200, description = "The service is up", body = Health)))]
pub(crate) async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        leader: state.leader.is_leader(),
    })
}

/// `GET /v1/openapi.json`
#[utoipa::path(get, path = "/v1/openapi.json", tag = "service",
    responses((status = 200, description = "This OpenAPI 3 document", content_type = "application/json")))]
pub(crate) async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], state.openapi)
}

/// `GET /metrics`: Prometheus text exposition.
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
