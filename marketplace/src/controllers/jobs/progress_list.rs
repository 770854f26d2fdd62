//! `GET /v1/jobs/{job_id}/progress`: the points of a job's loss curve, for the job page to poll.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::controllers::extract::JobId;
use crate::db::ProgressRow;
use crate::error::{ApiError, ErrorBody};
use crate::router::AppState;

/// Most points one response holds.
const MAX_POINTS: i64 = 5000;

/// Which points.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ProgressQuery {
    /// Only points after this step (the last one the page has; default 0).
    after_step: Option<i64>,
    /// At most this many, 1..=5000 (default 1000).
    limit: Option<i64>,
}

/// One point of the loss curve.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProgressPoint {
    /// Steps done.
    pub step: i64,
    /// Training loss at that step.
    pub loss: f64,
    /// Throughput, tokens per second.
    pub tokens_per_second: f64,
    /// Seconds the worker expects the rest to take.
    pub eta_seconds: Option<i64>,
    /// When it was reported, in Unix seconds.
    pub reported_at: i64,
}

/// A job's reported progress, in step order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobProgress {
    /// The job.
    pub job_id: String,
    /// The points after `after_step`.
    pub points: Vec<ProgressPoint>,
}

impl From<ProgressRow> for ProgressPoint {
    fn from(row: ProgressRow) -> Self {
        Self {
            step: row.step,
            loss: row.loss,
            tokens_per_second: row.tokens_per_second,
            eta_seconds: row.eta_seconds,
            reported_at: row.reported_at,
        }
    }
}

/// `GET /v1/jobs/{job_id}/progress`
#[utoipa::path(get, path = "/v1/jobs/{job_id}/progress", tag = "jobs",
    params(("job_id" = String, Path, description = "The job id, `0x` and 64 hex digits"), ProgressQuery),
    responses(
        (status = 200, description = "The points, possibly none", body = JobProgress),
        (status = 400, description = "Malformed job id or query", body = ErrorBody),
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    JobId(job_id): JobId,
    Query(query): Query<ProgressQuery>,
) -> Result<Json<JobProgress>, ApiError> {
    let after_step = query.after_step.unwrap_or(0);
    if after_step < 0 {
        return Err(ApiError::InvalidQuery {
            param: "after_step".into(),
            message: format!("{after_step} is negative"),
        });
    }
    let limit = query.limit.unwrap_or(1000);
    if !(1..=MAX_POINTS).contains(&limit) {
        return Err(ApiError::InvalidQuery {
            param: "limit".into(),
            message: format!("{limit} is not in 1..={MAX_POINTS}"),
        });
    }
    let points = state
        .db
        .progress(&job_id, after_step, limit)
        .await?
        .into_iter()
        .map(ProgressPoint::from)
        .collect();
    Ok(Json(JobProgress { job_id, points }))
}
