//! `POST /v1/jobs/{job_id}/progress`: the job's worker reports where training is.

use axum::extract::State;
use axum::http::StatusCode;
use tern_protocol::ProgressReport;

use crate::controllers::extract::{JobId, JsonRequest, SignedIn};
use crate::db::{ProgressRow, unix_now};
use crate::error::{ApiError, ErrorBody};
use crate::router::AppState;

/// `POST /v1/jobs/{job_id}/progress`
#[utoipa::path(post, path = "/v1/jobs/{job_id}/progress", tag = "jobs",
    security(("bearer" = [])),
    params(("job_id" = String, Path, description = "The job id, `0x` and 64 hex digits")),
    request_body(content = Object, description = "tern-protocol `ProgressReport`: step, loss, tokens_per_second, eta_seconds", content_type = "application/json"),
    responses(
        (status = 204, description = "Recorded (a step reported again replaces the earlier report)"),
        (status = 400, description = "Malformed job id or JSON", body = ErrorBody),
        (status = 401, description = "No session", body = ErrorBody),
        (status = 403, description = "The signed-in address is not the job's worker", body = ErrorBody),
        (status = 404, description = "The job is unknown (or not indexed yet)", body = ErrorBody),
        (status = 409, description = "The job is not being trained", body = ErrorBody),
        (status = 422, description = "Invalid fields, each listed in `error.fields`", body = ErrorBody),
    ))]
pub(crate) async fn report(
    State(state): State<AppState>,
    worker: SignedIn,
    JobId(job_id): JobId,
    JsonRequest(report): JsonRequest<ProgressReport>,
) -> Result<StatusCode, ApiError> {
    let job = state
        .db
        .training_job(&job_id)
        .await?
        .ok_or_else(|| ApiError::JobNotFound(job_id.clone()))?;
    if job.worker.as_deref() != Some(worker.key().as_str()) {
        return Err(ApiError::Forbidden(format!(
            "{} is not the worker of job {job_id}; only the worker that claimed it reports its progress",
            worker.address
        )));
    }
    if job.state != "claimed" {
        return Err(ApiError::JobNotTraining {
            job_id,
            state: job.state,
        });
    }
    let errors = report.check(u32::try_from(job.total_steps).unwrap_or(u32::MAX));
    if !errors.is_empty() {
        return Err(ApiError::InvalidFields(errors));
    }
    let point = ProgressRow {
        step: i64::from(report.step),
        loss: report.loss,
        tokens_per_second: report.tokens_per_second,
        eta_seconds: report
            .eta_seconds
            .map(|e| i64::try_from(e).unwrap_or(i64::MAX)),
        reported_at: unix_now(),
    };
    state.db.upsert_progress(&job_id, &point).await?;
    metrics::counter!("tern_market_progress_reports_total").increment(1);
    Ok(StatusCode::NO_CONTENT)
}
