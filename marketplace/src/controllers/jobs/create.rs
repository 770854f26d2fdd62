//! `POST /v1/jobs`: a requester posts a job. The spec is checked and stored, its blobs must be in the store, and
//! the answer is the transactions the requester's wallet sends (approve, createJob); the job appears in
//! `GET /v1/jobs` once the indexer sees `JobCreated`.

use alloy::primitives::{B256, U256};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tern_contracts::JobParams;
use tern_protocol::{FieldError, JobSpec};
use utoipa::ToSchema;

use crate::controllers::extract::{JsonRequest, SignedIn};
use crate::controllers::specs::validate::{SpecValidated, parse};
use crate::db::unix_now;
use crate::error::{ApiError, ErrorBody};
use crate::router::AppState;

/// A job to post.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostJob {
    /// The job spec (DESIGN.md §3.1).
    #[schema(value_type = Object)]
    pub spec: serde_json::Value,
}

/// A transaction for the requester's wallet to send.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TxToSend {
    /// The contract called.
    pub to: String,
    /// The calldata, `0x` hex.
    pub data: String,
    /// Wei sent along: always `0x0`.
    pub value: String,
    /// What it does.
    pub description: String,
}

/// A posted job, waiting for the requester's transactions.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobPosted {
    /// The spec's hash, which `createJob` puts on chain.
    pub spec_hash: String,
    /// What `createJob` pulls from the requester, in USDT base units.
    pub escrow: String,
    /// The chain to send on.
    pub chain_id: u64,
    /// The market contract.
    pub market: String,
    /// The token escrowed.
    pub token: String,
    /// Send these in order from the signed-in address, each after the previous one is mined.
    pub transactions: Vec<TxToSend>,
}

/// `POST /v1/jobs`
#[utoipa::path(post, path = "/v1/jobs", tag = "jobs",
    security(("bearer" = [])),
    request_body(content = PostJob, content_type = "application/json"),
    responses(
        (status = 201, description = "The spec was stored; send the transactions", body = JobPosted),
        (status = 200, description = "The spec was already stored; send the transactions", body = JobPosted),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "No session", body = ErrorBody),
        (status = 422, description = "Invalid spec fields, or blobs it names that are not stored", body = ErrorBody),
        (status = 503, description = "The service is not connected to a chain", body = ErrorBody),
    ))]
pub(crate) async fn create(
    State(state): State<AppState>,
    requester: SignedIn,
    JsonRequest(request): JsonRequest<PostJob>,
) -> Result<(StatusCode, Json<JobPosted>), ApiError> {
    let chain = state
        .requester_txs
        .clone()
        .ok_or(ApiError::ChainUnavailable)?;
    let body = serde_json::to_vec(&request.spec).map_err(|e| ApiError::Internal(e.to_string()))?;
    let (spec, validated) = parse(&body).map_err(|err| match err {
        ApiError::InvalidSpec(mut errors) => {
            for error in &mut errors.errors {
                error.field = prefixed("spec", &error.field);
            }
            ApiError::InvalidSpec(errors)
        }
        other => other,
    })?;
    let mut problems = Vec::new();
    for (field, id) in [
        ("spec.base_model.id", spec.base_model.id),
        ("spec.dataset.id", spec.dataset.id),
    ] {
        if state.store.get(id).await?.is_none() {
            problems.push(FieldError::new(
                field,
                format!("no blob {id} is stored: upload it first (PUT /v1/blobs/{id}) so workers can fetch it"),
            ));
        }
    }
    let now = u64::try_from(unix_now()).unwrap_or(0);
    if spec.deadlines.open_until <= now {
        problems.push(FieldError::new(
            "spec.deadlines.open_until",
            format!(
                "{} is not in the future (now is {now}); workers could never claim the job",
                spec.deadlines.open_until
            ),
        ));
    }
    if !problems.is_empty() {
        return Err(ApiError::BlobsOrDeadlines(problems));
    }
    let created = state
        .db
        .insert_spec(&validated.spec_hash, &validated.canonical_json)
        .await?;
    let params = job_params(&spec, &validated)?;
    let transactions = chain
        .create_job(requester.address, &params)
        .await
        .map_err(|e| ApiError::ChainRead(e.to_string()))?
        .into_iter()
        .map(|tx| TxToSend {
            to: tx.to.to_checksum(None),
            data: format!("0x{}", alloy::hex::encode(&tx.data)),
            value: "0x0".into(),
            description: tx.description,
        })
        .collect();
    let token = chain
        .token()
        .await
        .map_err(|e| ApiError::ChainRead(e.to_string()))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(JobPosted {
            spec_hash: validated.spec_hash,
            escrow: validated.escrow,
            chain_id: state.sign_in.chain_id(),
            market: chain.market().to_checksum(None),
            token: token.to_checksum(None),
            transactions,
        }),
    ))
}

/// `field` under `parent` (`spec` + `training.steps` = `spec.training.steps`).
fn prefixed(parent: &str, field: &str) -> String {
    if field.is_empty() {
        parent.to_string()
    } else {
        format!("{parent}.{field}")
    }
}

/// The `createJob` parameters of a valid spec. Spec validation keeps every value within the contract's types.
fn job_params(spec: &JobSpec, validated: &SpecValidated) -> Result<JobParams, ApiError> {
    let narrow = |what: &str| {
        ApiError::Internal(format!(
            "a valid spec's {what} does not fit the contract's type"
        ))
    };
    Ok(JobParams {
        spec_hash: validated
            .spec_hash
            .parse::<B256>()
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        reward: U256::from(spec.price.reward.base_units()),
        verifier_fee: U256::from(spec.price.verifier_fee.base_units()),
        worker_bond: U256::from(spec.price.worker_bond.base_units()),
        total_steps: spec.training.steps,
        checkpoint_interval: spec.verification.checkpoint_interval,
        sample_count: u8::try_from(spec.verification.sample_count)
            .map_err(|_| narrow("sample_count"))?,
        open_until: spec.deadlines.open_until,
        train_duration: u32::try_from(spec.deadlines.train_duration)
            .map_err(|_| narrow("train_duration"))?,
    })
}
