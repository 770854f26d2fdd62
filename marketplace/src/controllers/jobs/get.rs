//! `GET /v1/jobs/{job_id}`: one job with its event timeline.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::{Job, JobEventRecord};
use crate::error::{ApiError, ErrorBody};
use crate::router::AppState;

/// A job and its events: the job page.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobDetail {
    /// The job.
    #[serde(flatten)]
    pub job: Job,
    /// The market's events of the job in chain order (its state timeline).
    pub events: Vec<JobEventRecord>,
}

/// `GET /v1/jobs/{job_id}`
#[utoipa::path(get, path = "/v1/jobs/{job_id}", tag = "jobs",
    params(("job_id" = String, Path, description = "`0x` and 64 hex digits")),
    responses(
        (status = 200, description = "The job and its events", body = JobDetail),
        (status = 400, description = "The path is not a job id", body = ErrorBody),
        (status = 404, description = "No job with this id is indexed", body = ErrorBody),
        (status = 500, description = "The service failed", body = ErrorBody),
    ))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<JobDetail>, ApiError> {
    let job_id = super::parse_job_id(&raw).ok_or(ApiError::InvalidJobId(raw))?;
    let job = state
        .db
        .job(&job_id)
        .await?
        .ok_or_else(|| ApiError::JobNotFound(job_id.clone()))?;
    let events = state.db.job_events(&job_id).await?;
    Ok(Json(JobDetail { job, events }))
}
