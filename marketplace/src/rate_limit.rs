//! Per-client rate limits (tower_governor) on the endpoints anyone may call without a session and that write:
//! sign-in (`/v1/auth/*`, where each nonce is a database row). A client over its limit gets the API's JSON 429
//! with `Retry-After`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::IntoResponse;
use tower_governor::GovernorError;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::{KeyExtractor, PeerIpKeyExtractor, SmartIpKeyExtractor};

use crate::error::ApiError;
use crate::router::AppState;

/// Forgets clients that are back within their limit, so the limiter's memory stays bounded; run it now and then.
#[derive(Clone)]
pub(crate) struct Upkeep(Arc<dyn Fn() + Send + Sync>);

impl Upkeep {
    pub(crate) fn run(&self) {
        (self.0)();
    }
}

impl std::fmt::Debug for Upkeep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Upkeep")
    }
}

/// `routes` limited to `per_minute` requests per client IP after a burst of `burst` (no limit when either is 0).
/// Client IPs are the TCP peer's, or, with `trust_forwarded_for`, what the proxy's forwarding headers say.
pub(crate) fn limit(
    routes: Router<AppState>,
    per_minute: u32,
    burst: u32,
    trust_forwarded_for: bool,
) -> (Router<AppState>, Option<Upkeep>) {
    if trust_forwarded_for {
        layer(routes, per_minute, burst, SmartIpKeyExtractor)
    } else {
        layer(routes, per_minute, burst, PeerIpKeyExtractor)
    }
}

fn layer<K>(
    routes: Router<AppState>,
    per_minute: u32,
    burst: u32,
    key: K,
) -> (Router<AppState>, Option<Upkeep>)
where
    K: KeyExtractor + Send + Sync + 'static,
    K::Key: Send + Sync + 'static,
{
    if per_minute == 0 || burst == 0 {
        return (routes, None);
    }
    let Some(config) = GovernorConfigBuilder::default()
        .period(Duration::from_millis(60_000 / u64::from(per_minute)).max(Duration::from_millis(1)))
        .burst_size(burst)
        .key_extractor(key)
        .finish()
    else {
        return (routes, None);
    };
    let config = Arc::new(config);
    let limiter = config.limiter().clone();
    let upkeep = Upkeep(Arc::new(move || limiter.retain_recent()));
    let layer = GovernorLayer::new(config).error_handler(|error| {
        match error {
            GovernorError::TooManyRequests { wait_time, .. } => ApiError::RateLimited {
                retry_after: wait_time.max(1),
            },
            other => ApiError::Internal(format!("rate limiter: {other}")),
        }
        .into_response()
    });
    (routes.layer(layer), Some(upkeep))
}
