//! `GET /v1/jobs`: the job board, newest first, filtered, with keyset pagination.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::chain::events::STATE_NAMES;
use crate::db::{AMOUNT_DIGITS, Job, JobFilter};
use crate::error::{ApiError, ErrorBody};
use crate::router::AppState;

/// Jobs returned when `limit` is not given.
pub(crate) const DEFAULT_LIMIT: u32 = 50;
/// The largest `limit`.
pub(crate) const MAX_LIMIT: u32 = 200;

/// A page of jobs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobList {
    /// Newest first (by creation on chain).
    pub jobs: Vec<Job>,
    /// Pass as `cursor` (with the same filters) for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The query of `GET /v1/jobs`. Every parameter is optional.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct ListQuery {
    /// Only jobs in this state: open, claimed, submitted, auditing, verified, disputed, finalized, slashed,
    /// refunded or expired.
    state: Option<String>,
    /// Only jobs posted by this address (`0x` and 40 hex digits, any case).
    requester: Option<String>,
    /// Only jobs claimed by this address.
    worker: Option<String>,
    /// Only jobs whose audit assigns this verifier.
    verifier: Option<String>,
    /// Only jobs whose reward is at least this many USDT base units (decimal).
    min_reward: Option<String>,
    /// Jobs per page, 1 to 200 (default 50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

const PARAMS: &str = "state, requester, worker, verifier, min_reward, limit, cursor";

fn invalid(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::InvalidQuery {
        param: param.to_string(),
        message: message.into(),
    }
}

/// The filter a query asks for, or the first parameter that is wrong.
pub(crate) fn parse_query(pairs: &[(String, String)]) -> Result<JobFilter, ApiError> {
    let mut filter = JobFilter {
        limit: DEFAULT_LIMIT,
        ..JobFilter::default()
    };
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in pairs {
        if seen.contains(&key.as_str()) {
            return Err(invalid(key, "is given more than once; give it once"));
        }
        seen.push(key);
        match key.as_str() {
            "state" => {
                if !STATE_NAMES.contains(&value.as_str()) {
                    return Err(invalid(
                        key,
                        format!(
                            "{value:?} is not a job state; use one of {}",
                            STATE_NAMES.join(", ")
                        ),
                    ));
                }
                filter.state = Some(value.clone());
            }
            "requester" | "worker" | "verifier" => {
                let address = super::parse_address(value).ok_or_else(|| {
                    invalid(
                        key,
                        format!("{value:?} is not an address; use 0x and 40 hex digits"),
                    )
                })?;
                match key.as_str() {
                    "requester" => filter.requester = Some(address),
                    "worker" => filter.worker = Some(address),
                    _ => filter.verifier = Some(address),
                }
            }
            "min_reward" => {
                let ok = !value.is_empty()
                    && value.bytes().all(|b| b.is_ascii_digit())
                    && value.trim_start_matches('0').len() <= AMOUNT_DIGITS;
                if !ok {
                    return Err(invalid(
                        key,
                        format!(
                            "{value:?} is not an amount; use a decimal integer of USDT base units \
                             (1 USDT = 1000000), at most {AMOUNT_DIGITS} digits"
                        ),
                    ));
                }
                filter.min_reward = Some(value.clone());
            }
            "limit" => {
                filter.limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        invalid(
                            key,
                            format!("{value:?} is not a page size; use 1 to {MAX_LIMIT}"),
                        )
                    })?;
            }
            "cursor" => {
                let parsed = value
                    .split_once('-')
                    .and_then(|(b, l)| Some((b.parse::<u64>().ok()?, l.parse::<u64>().ok()?)));
                filter.before = Some(parsed.ok_or_else(|| {
                    invalid(
                        key,
                        format!(
                            "{value:?} is not a cursor; pass the next_cursor of the previous page"
                        ),
                    )
                })?);
            }
            _ => {
                return Err(invalid(
                    key,
                    format!("is not a parameter of this endpoint; use {PARAMS}"),
                ));
            }
        }
    }
    Ok(filter)
}

/// `GET /v1/jobs`
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of jobs, newest first", body = JobList),
        (status = 400, description = "A query parameter is wrong; `fields` names it", body = ErrorBody),
        (status = 500, description = "The service failed", body = ErrorBody),
    ))]
pub(crate) async fn list(State(state): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&uri).map_err(|err| {
        invalid(
            "",
            format!("the query string does not parse: {}", err.body_text()),
        )
    })?;
    let mut filter = parse_query(&pairs)?;
    // Without a cursor nothing is indexed yet (and nothing would tell a later page apart): no caching.
    let cursor = state.job_pages.cursor(&state.db).await?;
    let key = format!("{filter:?}");
    if let Some(page) = cursor.as_ref().and_then(|c| state.job_pages.get(c, &key)) {
        return Ok(json_page(page));
    }
    let limit = filter.limit as usize;
    // One more than asked tells whether there is a next page.
    filter.limit += 1;
    let mut jobs = state.db.jobs(&filter).await?;
    let next_cursor = if jobs.len() > limit {
        jobs.truncate(limit);
        jobs.last()
            .map(|last| format!("{}-{}", last.created_block, last.created_log_index))
    } else {
        None
    };
    let page = Bytes::from(
        serde_json::to_vec(&JobList { jobs, next_cursor })
            .map_err(|e| ApiError::Internal(format!("encoding a page of jobs: {e}")))?,
    );
    if let Some(cursor) = &cursor {
        state.job_pages.put(cursor, key, page.clone());
    }
    Ok(json_page(page))
}

/// A rendered page as a JSON response.
fn json_page(page: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], page).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Result<JobFilter, ApiError> {
        let pairs: Vec<_> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse_query(&pairs)
    }

    fn rejected(pairs: &[(&str, &str)], param: &str) {
        match query(pairs) {
            Err(ApiError::InvalidQuery { param: p, .. }) => assert_eq!(p, param),
            other => panic!("{pairs:?}: {other:?}"),
        }
    }

    #[test]
    fn filters_parse_and_normalize() {
        let filter = query(&[
            ("state", "open"),
            ("requester", "0x5FbDB2315678afecb367f032d93F642f64180aa3"),
            ("min_reward", "0100"),
            ("limit", "7"),
            ("cursor", "12-3"),
        ])
        .unwrap();
        assert_eq!(filter.state.as_deref(), Some("open"));
        assert_eq!(
            filter.requester.as_deref(),
            Some("0x5fbdb2315678afecb367f032d93f642f64180aa3")
        );
        assert_eq!(filter.min_reward.as_deref(), Some("0100"));
        assert_eq!((filter.limit, filter.before), (7, Some((12, 3))));
        assert_eq!(query(&[]).unwrap().limit, DEFAULT_LIMIT);
    }

    #[test]
    fn bad_values_name_their_parameter() {
        rejected(&[("state", "none")], "state");
        rejected(&[("state", "Open")], "state");
        rejected(&[("worker", "0x12")], "worker");
        rejected(&[("min_reward", "-1")], "min_reward");
        rejected(&[("min_reward", "")], "min_reward");
        rejected(&[("min_reward", &"9".repeat(25))], "min_reward");
        rejected(&[("limit", "0")], "limit");
        rejected(&[("limit", "201")], "limit");
        rejected(&[("cursor", "abc")], "cursor");
        rejected(&[("page", "2")], "page");
        rejected(&[("state", "open"), ("state", "claimed")], "state");
    }
}
