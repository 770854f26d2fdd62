//! `GET /v1/accounts/{address}`: an address's stake, earnings and slashes, from the market's events.

use std::collections::BTreeMap;

use alloy::primitives::Address;
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::address_key;
use crate::db::AccountEventRecord;
use crate::error::{ApiError, ErrorBody};
use crate::router::AppState;

/// An address's account, as the indexer has seen it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    /// The address (EIP-55).
    pub address: String,
    /// Sum of each event kind's amounts, USDT base units as decimal strings: `Staked`, `UnstakeRequested`,
    /// `UnstakeWithdrawn`, `StakeLocked`, `StakeUnlocked`, `StakeSlashed`, `Credited`, `Withdrawn`.
    pub totals: BTreeMap<String, String>,
    /// Paid to the account (rewards, fees, refunds, bonds slashed to it), net of what it withdrew: what
    /// `withdraw` would pay out now.
    pub withdrawable: String,
    /// Credits by job: what each job paid this account.
    pub credits_by_job: BTreeMap<String, String>,
    /// Every event, in chain order.
    pub events: Vec<AccountEventRecord>,
}

/// `GET /v1/accounts/{address}`
#[utoipa::path(get, path = "/v1/accounts/{address}", tag = "accounts",
    params(("address" = String, Path, description = "`0x` and 40 hex digits, any case")),
    responses(
        (status = 200, description = "The account; empty totals if the market never saw it", body = AccountView),
        (status = 400, description = "The path is not an address", body = ErrorBody),
    ))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    let address: Address = raw.parse().map_err(|_| ApiError::InvalidQuery {
        param: "address".into(),
        message: format!("{raw:?} is not an address; use 0x and 40 hex digits"),
    })?;
    let events = state
        .db
        .account_events(&address_key(address))
        .await
        .map_err(|e| ApiError::Internal(format!("account events: {e}")))?;
    let mut totals: BTreeMap<String, u128> = BTreeMap::new();
    let mut credits_by_job: BTreeMap<String, u128> = BTreeMap::new();
    for event in &events {
        let Some(amount) = event.amount.as_deref() else {
            continue;
        };
        let amount: u128 = amount
            .parse()
            .map_err(|e| ApiError::Internal(format!("stored amount {amount:?}: {e}")))?;
        *totals.entry(event.kind.clone()).or_default() += amount;
        if let (Some(job), "Credited") = (&event.job_id, event.kind.as_str()) {
            *credits_by_job.entry(job.clone()).or_default() += amount;
        }
    }
    let total = |kind: &str| totals.get(kind).copied().unwrap_or_default();
    let withdrawable = total("Credited").saturating_sub(total("Withdrawn"));
    let decimal =
        |map: BTreeMap<String, u128>| map.into_iter().map(|(k, v)| (k, v.to_string())).collect();
    Ok(Json(AccountView {
        address: address.to_checksum(None),
        withdrawable: withdrawable.to_string(),
        totals: decimal(totals),
        credits_by_job: decimal(credits_by_job),
        events,
    }))
}
