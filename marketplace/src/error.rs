//! Every error the API returns, and the one place where each becomes an HTTP status and a JSON body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tern_protocol::{ContentId, ContentIdError, ContentMismatch, FieldError, SpecErrors};
use utoipa::ToSchema;

use crate::blobs::BlobError;

/// An error of the API. [`IntoResponse`] turns it into its status and an [`ErrorBody`]; bad input is always a
/// 4xx, and only the service's own failures are a 5xx (their details go to the log, not to the client).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A path segment that should be a content id is not one.
    #[error("invalid content id in the path: {0}")]
    InvalidContentId(#[from] ContentIdError),
    /// The body is not valid JSON.
    #[error("the body is not valid JSON: {0}; send one JSON document")]
    MalformedJson(String),
    /// The body is not declared as JSON.
    #[error("send the body with `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// The body is larger than the service accepts.
    #[error("the body is larger than the limit of {limit} bytes; send a smaller one")]
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The body could not be read (the client went away or sent a broken stream).
    #[error("the request body could not be read: {0}; send the request again")]
    BodyRead(String),
    /// The job spec has invalid fields.
    #[error("the job spec has invalid fields; fix each one listed in `fields`")]
    InvalidSpec(SpecErrors),
    /// An uploaded blob does not hash to the id it was uploaded under; nothing was stored.
    #[error(
        "the uploaded bytes hash to {}, not to {} named in the path; nothing was stored: upload the blob under \
         its own id",
        .0.actual,
        .0.expected
    )]
    ContentMismatch(ContentMismatch),
    /// No blob has this id.
    #[error("no blob {0} is stored; upload it first with PUT /v1/blobs/{0}")]
    BlobNotFound(ContentId),
    /// A path segment that should be a specHash is not one.
    #[error("invalid specHash in the path: {0:?}; expected 0x and 64 lowercase hex digits")]
    InvalidSpecHash(String),
    /// No spec has this hash.
    #[error("no spec {0} is stored; store it first with POST /v1/specs")]
    SpecNotFound(String),
    /// A JSON body has the wrong shape: a missing, unknown or mistyped field.
    #[error("invalid request body at `{field}`: {message}")]
    InvalidBody {
        /// The field's path (empty for the document).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The request needs a session and carries none.
    #[error(
        "sign in first: POST /v1/auth/nonce, sign its message with your wallet (EIP-4361), POST /v1/auth/login, then \
         send `Authorization: Bearer <token>`"
    )]
    Unauthenticated,
    /// The bearer token is unknown, expired or signed out.
    #[error(
        "the session token is unknown, expired or signed out; sign in again (POST /v1/auth/nonce)"
    )]
    SessionExpired,
    /// A signed sign-in message was refused.
    #[error("sign-in refused: {0}")]
    SignIn(#[from] crate::auth::SignInError),
    /// The sign-in nonce was never issued, has expired or was used.
    #[error(
        "the nonce is unknown, expired or already used; get a new one from POST /v1/auth/nonce and sign again"
    )]
    NonceInvalid,
    /// The signed-in address may not act on this resource.
    #[error("{0}")]
    Forbidden(String),
    /// The address has used up its upload quota.
    #[error(
        "this address uploaded {used} bytes in the last 24 hours; with this blob it would pass its quota of {quota} \
         bytes: try again later"
    )]
    UploadQuota {
        /// Bytes uploaded in the window.
        used: u64,
        /// The quota.
        quota: u64,
    },
    /// Fields of the request are out of range.
    #[error("the request has invalid fields; fix each one listed in `fields`")]
    InvalidFields(Vec<FieldError>),
    /// The address already has the most devices allowed.
    #[error(
        "this address has {limit} devices, the most allowed; remove one (DELETE /v1/devices/{{id}}) first"
    )]
    TooManyDevices {
        /// The limit.
        limit: i64,
    },
    /// No device has this id.
    #[error("no device {0} is registered")]
    DeviceNotFound(String),
    /// The job is not in the state the request needs.
    #[error("job {job_id} is {state}; progress is taken only while it is claimed and training")]
    JobNotTraining {
        /// The job.
        job_id: String,
        /// Its state.
        state: String,
    },
    /// A posted job names blobs that are not stored, or a deadline already past.
    #[error("the job cannot be posted as it is; fix each problem listed in `fields`")]
    BlobsOrDeadlines(Vec<FieldError>),
    /// The service has no chain connection configured.
    #[error(
        "this marketplace is not connected to a chain (set rpc_url and market_address); jobs cannot be posted"
    )]
    ChainUnavailable,
    /// The chain node could not be read; the cause is logged, never sent (the node's URL may hold an API key).
    #[error("the chain could not be read: {0}")]
    ChainRead(String),
    /// A query parameter is unknown, repeated or has a value it does not take.
    #[error("invalid query parameter `{param}`: {message}")]
    InvalidQuery {
        /// The parameter (empty when the query string as a whole does not parse).
        param: String,
        /// What is wrong and what it takes.
        message: String,
    },
    /// A path segment that should be a job id is not one.
    #[error("invalid job id in the path: {0:?}; expected 0x and 64 hex digits")]
    InvalidJobId(String),
    /// No job with this id is indexed.
    #[error(
        "no job {0} is indexed; a job appears once its creation is confirmed on chain (see GET /v1/jobs)"
    )]
    JobNotFound(String),
    /// A path segment does not decode.
    #[error("the path does not decode: {0}; percent-encode UTF-8 text")]
    InvalidPath(String),
    /// The client sent more requests than its rate limit allows.
    #[error("too many requests from this address; wait {retry_after} s and try again")]
    RateLimited {
        /// Seconds until the next request is accepted.
        retry_after: u64,
    },
    /// No route matches the path.
    #[error("no such endpoint; see /v1/openapi.json for the API")]
    NotFound,
    /// The route exists but not for this method.
    #[error("this endpoint does not take this method; see /v1/openapi.json for the API")]
    MethodNotAllowed,
    /// The database failed; the cause is logged, never sent (it may hold SQL).
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The service failed (disk, IO); the cause is logged.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code for programs (`invalid_spec`, `content_mismatch`, ...).
    pub code: String,
    /// What was wrong and what to do, for people.
    pub message: String,
    /// The invalid fields, when the error is about fields of the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<ErrorField>,
}

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorField {
    /// The field's path (`training.steps`, `lora.targets[2]`); empty for the document as a whole.
    pub field: String,
    /// What is wrong with it and what to do.
    pub message: String,
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidContentId(_)
            | Self::InvalidSpecHash(_)
            | Self::InvalidQuery { .. }
            | Self::InvalidJobId(_)
            | Self::MalformedJson(_)
            | Self::BodyRead(_)
            | Self::InvalidPath(_) => StatusCode::BAD_REQUEST,
            Self::JobNotTraining { .. } => StatusCode::CONFLICT,
            Self::InvalidFields(_) | Self::BlobsOrDeadlines(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::ChainUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::ChainRead(_) => StatusCode::BAD_GATEWAY,
            Self::TooManyDevices { .. } => StatusCode::CONFLICT,
            Self::DeviceNotFound(_) => StatusCode::NOT_FOUND,
            Self::SignIn(
                crate::auth::SignInError::Malformed(_)
                | crate::auth::SignInError::MalformedSignature(_),
            ) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated | Self::SessionExpired | Self::SignIn(_) | Self::NonceInvalid => {
                StatusCode::UNAUTHORIZED
            }
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::UploadQuota { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidSpec(_) | Self::ContentMismatch(_) | Self::InvalidBody { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::BlobNotFound(_)
            | Self::SpecNotFound(_)
            | Self::JobNotFound(_)
            | Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Database(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidContentId(_) => "invalid_content_id",
            Self::MalformedJson(_) => "malformed_json",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::BodyRead(_) => "body_read_failed",
            Self::InvalidSpec(_) => "invalid_spec",
            Self::ContentMismatch(_) => "content_mismatch",
            Self::BlobNotFound(_) => "blob_not_found",
            Self::InvalidSpecHash(_) => "invalid_spec_hash",
            Self::SpecNotFound(_) => "spec_not_found",
            Self::InvalidBody { .. } => "invalid_body",
            Self::InvalidPath(_) => "invalid_path",
            Self::InvalidFields(_) => "invalid_fields",
            Self::BlobsOrDeadlines(_) => "job_not_postable",
            Self::ChainUnavailable => "chain_unavailable",
            Self::ChainRead(_) => "chain_unreachable",
            Self::InvalidQuery { .. } => "invalid_query",
            Self::TooManyDevices { .. } => "too_many_devices",
            Self::DeviceNotFound(_) => "device_not_found",
            Self::InvalidJobId(_) => "invalid_job_id",
            Self::JobNotFound(_) => "job_not_found",
            Self::JobNotTraining { .. } => "job_not_training",
            Self::Unauthenticated => "unauthenticated",
            Self::SessionExpired => "session_expired",
            Self::SignIn(crate::auth::SignInError::Malformed(_)) => "malformed_sign_in_message",
            Self::SignIn(crate::auth::SignInError::MalformedSignature(_)) => "malformed_signature",
            Self::SignIn(crate::auth::SignInError::WrongSigner(_)) => "bad_signature",
            Self::SignIn(_) => "sign_in_refused",
            Self::NonceInvalid => "nonce_invalid",
            Self::Forbidden(_) => "forbidden",
            Self::RateLimited { .. } => "rate_limited",
            Self::UploadQuota { .. } => "upload_quota_exceeded",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Database(_) | Self::Internal(_) => "internal",
        }
    }

    /// The body of this error.
    pub fn body(&self) -> ErrorBody {
        let (message, fields) = match self {
            Self::InvalidSpec(errors) => (
                self.to_string(),
                errors
                    .errors
                    .iter()
                    .map(|e| ErrorField {
                        field: e.field.clone(),
                        message: e.message.clone(),
                    })
                    .collect(),
            ),
            Self::InvalidFields(errors) | Self::BlobsOrDeadlines(errors) => (
                self.to_string(),
                errors
                    .iter()
                    .map(|e| ErrorField {
                        field: e.field.clone(),
                        message: e.message.clone(),
                    })
                    .collect(),
            ),
            Self::InvalidBody { field, message } => (
                self.to_string(),
                vec![ErrorField {
                    field: field.clone(),
                    message: message.clone(),
                }],
            ),
            Self::ChainRead(_) => (
                "the chain node did not answer; try again later".to_string(),
                Vec::new(),
            ),
            Self::InvalidQuery { param, message } => (
                self.to_string(),
                vec![ErrorField {
                    field: param.clone(),
                    message: message.clone(),
                }],
            ),
            Self::Database(_) | Self::Internal(_) => (
                "internal error; it has been logged, try again later".to_string(),
                Vec::new(),
            ),
            _ => (self.to_string(), Vec::new()),
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message,
                fields,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::debug!(code = self.code(), error = %self, "request rejected");
        }
        let mut response = (status, Json(self.body())).into_response();
        if let Self::RateLimited { retry_after } = self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<BlobError> for ApiError {
    fn from(err: BlobError) -> Self {
        match err {
            BlobError::Mismatch(mismatch) => Self::ContentMismatch(mismatch),
            BlobError::TooLarge { limit } => Self::PayloadTooLarge { limit },
            BlobError::Upload(e) => Self::BodyRead(e.to_string()),
            BlobError::Store(e) => Self::Internal(format!("blob store: {e}")),
        }
    }
}

impl From<crate::db::JobsError> for ApiError {
    fn from(err: crate::db::JobsError) -> Self {
        match err {
            crate::db::JobsError::Database(e) => Self::Database(e),
            crate::db::JobsError::Row(e) => Self::Internal(e.to_string()),
        }
    }
}

impl From<std::io::Error> for ApiError {
    fn from(err: std::io::Error) -> Self {
        Self::Internal(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use tern_protocol::{FieldError, SpecErrors};

    use super::*;

    #[test]
    fn bad_input_is_4xx_with_a_stable_code() {
        let id = ContentId::of(b"a");
        let cases = [
            (
                ApiError::InvalidContentId("x".parse::<ContentId>().unwrap_err()),
                400,
                "invalid_content_id",
            ),
            (ApiError::MalformedJson("eof".into()), 400, "malformed_json"),
            (
                ApiError::UnsupportedMediaType,
                415,
                "unsupported_media_type",
            ),
            (
                ApiError::PayloadTooLarge { limit: 1 },
                413,
                "payload_too_large",
            ),
            (ApiError::BodyRead("reset".into()), 400, "body_read_failed"),
            (
                ApiError::ContentMismatch(ContentMismatch {
                    expected: id,
                    actual: ContentId::of(b"b"),
                }),
                422,
                "content_mismatch",
            ),
            (ApiError::BlobNotFound(id), 404, "blob_not_found"),
            (
                ApiError::InvalidSpecHash("0x12".into()),
                400,
                "invalid_spec_hash",
            ),
            (
                ApiError::SpecNotFound(format!("0x{}", "0".repeat(64))),
                404,
                "spec_not_found",
            ),
            (ApiError::InvalidJobId("0x1".into()), 400, "invalid_job_id"),
            (
                ApiError::JobNotFound(format!("0x{}", "0".repeat(64))),
                404,
                "job_not_found",
            ),
            (ApiError::NotFound, 404, "not_found"),
            (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status().as_u16(), status, "{err}");
            assert_eq!(err.code(), code);
            assert!(err.body().error.fields.is_empty());
        }
    }

    #[test]
    fn a_bad_query_parameter_is_a_field() {
        let err = ApiError::InvalidQuery {
            param: "limit".into(),
            message: "use 1 to 200".into(),
        };
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        let body = err.body();
        assert_eq!(body.error.code, "invalid_query");
        assert!(
            body.error.message.contains("`limit`"),
            "{}",
            body.error.message
        );
        assert_eq!(body.error.fields[0].field, "limit");
        assert_eq!(body.error.fields[0].message, "use 1 to 200");
    }

    #[test]
    fn spec_errors_become_fields_and_internal_details_stay_in_the_log() {
        let err = ApiError::InvalidSpec(SpecErrors {
            errors: vec![
                FieldError::new("lora.rank", "must be 1..=64"),
                FieldError::new("training.steps", "must be positive"),
            ],
        });
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let json = serde_json::to_value(err.body()).unwrap();
        assert_eq!(json["error"]["code"], "invalid_spec");
        assert_eq!(json["error"]["fields"][1]["field"], "training.steps");

        let err = ApiError::Internal("/secret/path: disk full".into());
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!err.body().error.message.contains("secret"));
        let json = serde_json::to_value(err.body()).unwrap();
        assert!(json["error"].get("fields").is_none());

        let err = ApiError::from(sqlx::Error::Protocol(
            "SELECT secret FROM specs failed".into(),
        ));
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(err.code(), "internal");
        let message = err.body().error.message;
        assert!(
            !message.contains("SELECT") && !message.contains("secret"),
            "{message}"
        );
    }
}
