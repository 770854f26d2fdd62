//! The `job_progress` table: the training progress a job's worker reports, the job page's live loss curve.

use sqlx::Row;

use super::{Database, on_pool};

/// One reported point.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ProgressRow {
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

/// What a progress report is checked against: the job as the indexer last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingJob {
    /// The worker that claimed it (`0x` and 40 lowercase hex digits), if any.
    pub worker: Option<String>,
    /// Its state, snake_case.
    pub state: String,
    /// Its steps `T`.
    pub total_steps: i64,
}

impl Database {
    /// The job's worker, state and steps, if the indexer has seen the job.
    pub async fn training_job(&self, job_id: &str) -> Result<Option<TrainingJob>, sqlx::Error> {
        const SQL: &str = "SELECT worker, state, total_steps FROM jobs WHERE job_id = $1";
        Ok(on_pool!(self, pool => sqlx::query(SQL)
        .bind(job_id)
        .fetch_optional(pool)
        .await?
        .map(|row| TrainingJob {
            worker: row.get(0),
            state: row.get(1),
            total_steps: row.get(2),
        })))
    }

    /// Stores a point, replacing an earlier report of the same step (a worker that resumed from a checkpoint
    /// reports those steps again).
    pub async fn upsert_progress(
        &self,
        job_id: &str,
        point: &ProgressRow,
    ) -> Result<(), sqlx::Error> {
        const SQL: &str = "INSERT INTO job_progress (job_id, step, loss, tokens_per_second, eta_seconds, reported_at) \
                           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job_id, step) DO UPDATE SET \
                           loss = excluded.loss, tokens_per_second = excluded.tokens_per_second, \
                           eta_seconds = excluded.eta_seconds, reported_at = excluded.reported_at";
        on_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(job_id)
                .bind(point.step)
                .bind(point.loss)
                .bind(point.tokens_per_second)
                .bind(point.eta_seconds)
                .bind(point.reported_at)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Up to `limit` points of `job_id` after step `after_step`, in step order.
    pub async fn progress(
        &self,
        job_id: &str,
        after_step: i64,
        limit: i64,
    ) -> Result<Vec<ProgressRow>, sqlx::Error> {
        const SQL: &str = "SELECT step, loss, tokens_per_second, eta_seconds, reported_at FROM job_progress \
                           WHERE job_id = $1 AND step > $2 ORDER BY step LIMIT $3";
        on_pool!(self, pool => sqlx::query_as(SQL)
            .bind(job_id)
            .bind(after_step)
            .bind(limit)
            .fetch_all(pool)
            .await)
    }
}
