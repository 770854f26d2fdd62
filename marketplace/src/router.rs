//! The one route table of the service, its middleware, and the OpenAPI document.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{delete, get, post};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use utoipa::OpenApi;

use crate::auth::SignInPolicy;
use crate::blobs::BlobStore;
use crate::chain::requester_txs::RequesterTxs;
use crate::controllers::{accounts, auth, blobs, devices, jobs, service, specs};
use crate::db::Database;
use crate::error::ApiError;
use crate::rate_limit;
use crate::web;

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Arc<dyn BlobStore>,
    pub(crate) db: Database,
    pub(crate) max_blob_bytes: u64,
    pub(crate) max_json_bytes: usize,
    pub(crate) metrics: PrometheusHandle,
    /// What a sign-in message must say.
    pub(crate) sign_in: Arc<SignInPolicy>,
    pub(crate) nonce_ttl_secs: i64,
    pub(crate) session_ttl_secs: i64,
    pub(crate) upload_quota_bytes: u64,
    /// Rendered pages of `GET /v1/jobs` at the current chain cursor.
    pub(crate) job_pages: Arc<crate::controllers::jobs::page_cache::PageCache>,
    /// Builds requesters' transactions; `None` when no chain is configured.
    pub(crate) requester_txs: Option<Arc<RequesterTxs>>,
    /// Whether this replica leads (runs the indexer).
    pub(crate) leader: crate::chain::LeaderStatus,
    /// The OpenAPI document, serialized once.
    pub(crate) openapi: Bytes,
}

/// How hard clients may hit the sign-in endpoints (see [`crate::rate_limit`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignInLimit {
    pub(crate) per_minute: u32,
    pub(crate) burst: u32,
    pub(crate) trust_forwarded_for: bool,
}

/// The one route table of the service, and the upkeep of its rate limiter.
pub(crate) fn router(
    state: AppState,
    sign_in: SignInLimit,
) -> (Router, Option<rate_limit::Upkeep>) {
    let json_limit = axum::extract::DefaultBodyLimit::max(state.max_json_bytes);
    // Signing in must work whatever the JSON limit: a login body is a few hundred bytes.
    let auth_limit = axum::extract::DefaultBodyLimit::max(state.max_json_bytes.max(16 << 10));
    let auth = Router::new()
        .route("/nonce", post(auth::nonce::nonce))
        .route("/login", post(auth::login::login))
        .route("/logout", post(auth::logout::logout))
        .route("/session", get(auth::session::session))
        .layer(auth_limit);
    let (auth, upkeep) = rate_limit::limit(
        auth,
        sign_in.per_minute,
        sign_in.burst,
        sign_in.trust_forwarded_for,
    );
    let v1 = Router::new()
        .route("/health", get(service::health))
        .route("/openapi.json", get(service::openapi))
        .nest("/auth", auth)
        .route(
            "/devices",
            get(devices::list::list).post(devices::register::register),
        )
        .route("/devices/{device_id}", delete(devices::delete::delete))
        .route(
            "/jobs/{job_id}/progress",
            get(jobs::progress_list::list).post(jobs::progress_report::report),
        )
        .route("/accounts/{address}", get(accounts::get::get))
        .route("/specs", post(specs::create::create))
        .route("/specs/validate", post(specs::validate::validate))
        .route("/specs/{spec_hash}", get(specs::get::get))
        .route(
            "/blobs/{content_id}",
            get(blobs::get::get).put(blobs::put::put),
        )
        .route("/jobs", get(jobs::list::list).post(jobs::create::create))
        .route("/jobs/{job_id}", get(jobs::get::get));
    // The web page: HTML pages and their assets, served from the binary (web.rs).
    let pages = Router::new()
        .route("/", get(web::board))
        .route("/jobs/{job_id}", get(web::job))
        .route("/post", get(web::post))
        .route("/devices", get(web::devices))
        .route("/verify", get(web::verify))
        .route("/assets/{version}/{file}", get(web::asset));
    let router = Router::new()
        .nest("/v1", v1)
        .route("/metrics", get(service::metrics))
        .merge(pages)
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(json_limit)
        .layer(axum::middleware::from_fn(record_metrics))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state);
    (router, upkeep)
}

/// The process's Prometheus recorder, installed on first use (tests start several servers in one process).
pub(crate) fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new().install_recorder().unwrap_or_else(|err| {
                tracing::warn!(%err, "another metrics recorder is installed; /metrics will be empty");
                PrometheusBuilder::new().build_recorder().handle()
            })
        })
        .clone()
}

/// Counts requests and their durations by method, route and status.
async fn record_metrics(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("tern_market_http_requests_total", &labels).increment(1);
    metrics::histogram!("tern_market_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}

/// The OpenAPI 3 document of the API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Tern marketplace", description = "Job specs, the content-addressed blob store and the jobs on chain (DESIGN.md §5)"),
    paths(
        service::health,
        service::openapi,
        auth::nonce::nonce,
        auth::login::login,
        auth::logout::logout,
        auth::session::session,
        accounts::get::get,
        devices::register::register,
        devices::list::list,
        devices::delete::delete,
        jobs::create::create,
        jobs::progress_report::report,
        jobs::progress_list::list,
        specs::create::create,
        specs::get::get,
        specs::validate::validate,
        blobs::put::put,
        blobs::get::get,
        jobs::list::list,
        jobs::get::get
    ),
    components(schemas(
        crate::error::ErrorBody,
        crate::error::ErrorDetail,
        crate::error::ErrorField,
        specs::validate::SpecValidated,
        blobs::put::BlobStored,
        service::Health,
        auth::nonce::NonceIssued,
        auth::login::LoginRequest,
        auth::login::SessionOpened,
        auth::session::SessionInfo,
        accounts::get::AccountView,
        crate::db::AccountEventRecord,
        devices::Device,
        devices::register::RegisterDevice,
        devices::list::DeviceList,
        jobs::progress_list::ProgressPoint,
        jobs::progress_list::JobProgress,
        jobs::create::PostJob,
        jobs::create::TxToSend,
        jobs::create::JobPosted,
        jobs::list::JobList,
        jobs::get::JobDetail,
        crate::db::Job,
        crate::db::Dispute,
        crate::db::Vote,
        crate::db::JobEventRecord
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "service", description = "Health and this document"),
        (name = "auth", description = "Wallet sign-in (EIP-4361) and sessions"),
        (name = "devices", description = "Workers' devices"),
        (name = "accounts", description = "Stakes, earnings and slashes of an address, from the market's events"),
        (name = "specs", description = "Job specs"),
        (name = "blobs", description = "Content-addressed blobs"),
        (name = "jobs", description = "Jobs as the chain indexer sees them on the market contract, posting them, and their progress"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` scheme: the session token from `POST /v1/auth/login`.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A session token from POST /v1/auth/login"))
                    .build(),
            ),
        );
    }
}
