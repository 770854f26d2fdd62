//! The content-addressed blob store: a [`BlobStore`] trait with two backends, a local directory
//! ([`LocalBlobStore`], the default) and S3-compatible object storage ([`S3BlobStore`], the scale path).
//!
//! A blob is written only under the id its bytes hash to: [`BlobStore::put`] hashes the stream as it arrives and
//! refuses the blob (storing nothing) if the hash is not the id it was uploaded under, or if it grows past the
//! size limit. Both backends share that check ([`UploadCheck`]); they differ only in where the bytes wait until
//! the check passes (a temporary file, or an S3 multipart upload that is completed or aborted).
//!
//! [`open`] builds the store a [`BlobBackend`] names.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use tern_protocol::{ContentHasher, ContentId, ContentMismatch};

mod local;
mod s3;

pub use local::{LocalBlobStore, STALE_UPLOAD_AGE};
pub use s3::{MAX_PARTS_IN_FLIGHT, MIN_PART_BYTES, S3BlobStore, S3Config, S3Secret};

/// A stream of a blob's bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// Why a blob was not stored or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// The bytes do not hash to the id; nothing was stored.
    #[error(transparent)]
    Mismatch(#[from] ContentMismatch),
    /// The blob is larger than the limit; nothing was stored.
    #[error("the blob is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The upload stream failed (the client's side).
    #[error("the upload stream failed: {0}")]
    Upload(io::Error),
    /// The store failed (the service's side).
    #[error("blob store: {0}")]
    Store(io::Error),
}

/// What an upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The blob was stored.
    Created,
    /// The blob was already stored; the upload was checked and dropped.
    Existed,
}

/// A stored blob being read.
pub struct BlobReader {
    /// Its size in bytes.
    pub len: u64,
    /// Its bytes.
    pub stream: ByteStream,
}

impl std::fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobReader")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Where blobs live. Object-safe, so the service holds an `Arc<dyn BlobStore>`.
pub trait BlobStore: Send + Sync + 'static {
    /// Stores the bytes of `body` as blob `id` if they hash to `id` and are at most `max_bytes` long; otherwise
    /// stores nothing. Storing a blob that is already there is not an error, but its bytes are still checked.
    fn put(
        &self,
        id: ContentId,
        body: ByteStream,
        max_bytes: u64,
    ) -> BoxFuture<'_, Result<PutOutcome, BlobError>>;

    /// Opens blob `id`, or `None` if it is not stored.
    fn get(&self, id: ContentId) -> BoxFuture<'_, Result<Option<BlobReader>, BlobError>>;
}

/// The check every upload goes through, whatever the backend: the running sha256 of the bytes seen so far, and
/// the size limit they must stay within.
#[derive(Debug)]
pub struct UploadCheck {
    hasher: ContentHasher,
    max_bytes: u64,
}

impl UploadCheck {
    /// A check for an upload of at most `max_bytes` bytes.
    pub fn new(max_bytes: u64) -> Self {
        Self {
            hasher: ContentHasher::new(),
            max_bytes,
        }
    }

    /// Takes the next chunk; [`BlobError::TooLarge`] once the bytes pass the limit. A refused chunk is not
    /// hashed, so the caller must stop there.
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        if self.hasher.bytes() + chunk.len() as u64 > self.max_bytes {
            return Err(BlobError::TooLarge {
                limit: self.max_bytes,
            });
        }
        self.hasher.update(chunk);
        Ok(())
    }

    /// The bytes taken so far.
    pub fn bytes(&self) -> u64 {
        self.hasher.bytes()
    }

    /// Ends the upload: `Ok` with its size if the bytes hash to `id`, else [`BlobError::Mismatch`].
    pub fn finish(self, id: ContentId) -> Result<u64, BlobError> {
        let len = self.hasher.bytes();
        let actual = self.hasher.finish();
        if actual != id {
            return Err(ContentMismatch {
                expected: id,
                actual,
            }
            .into());
        }
        Ok(len)
    }

    /// Reads the rest of `body` through the check without keeping it: an upload of a blob already stored is
    /// still answered by whether its bytes were right.
    pub async fn drain(mut self, id: ContentId, mut body: ByteStream) -> Result<u64, BlobError> {
        while let Some(chunk) = body.next().await {
            self.update(&chunk.map_err(BlobError::Upload)?)?;
        }
        self.finish(id)
    }
}

/// The 64 hex digits of `id`, without the `sha256:` prefix: the last part of a blob's file name or key.
pub(crate) fn hex_of(id: &ContentId) -> String {
    id.to_string()[tern_protocol::CONTENT_ID_PREFIX.len()..].to_string()
}

/// Which backend holds the blobs (`blob_store` in the configuration): `"local"` (the default), `"s3"` (bucket and
/// prefix from the `[s3]` settings) or the URL form `"s3://BUCKET[/PREFIX]"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum BlobBackend {
    /// Files under `blob_dir`.
    #[default]
    Local,
    /// An S3-compatible bucket.
    S3 {
        /// The bucket named by the URL form, which overrides `[s3] bucket`.
        bucket: Option<String>,
        /// The key prefix named by the URL form, which overrides `[s3] prefix`.
        prefix: Option<String>,
    },
}

/// A `blob_store` value that is none of the accepted forms.
#[derive(Debug, Clone, thiserror::Error)]
#[error("blob_store must be \"local\", \"s3\" or \"s3://BUCKET[/PREFIX]\", not {0:?}")]
pub struct BadBlobBackend(String);

impl FromStr for BlobBackend {
    type Err = BadBlobBackend;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "local" => Ok(Self::Local),
            "s3" => Ok(Self::S3 {
                bucket: None,
                prefix: None,
            }),
            url => {
                let rest = url
                    .strip_prefix("s3://")
                    .ok_or_else(|| BadBlobBackend(url.to_string()))?;
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(BadBlobBackend(url.to_string()));
                }
                let prefix = prefix.trim_matches('/');
                Ok(Self::S3 {
                    bucket: Some(bucket.to_string()),
                    prefix: (!prefix.is_empty()).then(|| prefix.to_string()),
                })
            }
        }
    }
}

impl TryFrom<String> for BlobBackend {
    type Error = BadBlobBackend;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// Why the blob store could not be opened at startup.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The local directory could not be created or swept.
    #[error("local blob store at {dir}: {source}")]
    Local {
        /// The directory.
        dir: std::path::PathBuf,
        /// The IO error.
        source: io::Error,
    },
    /// The S3 settings are incomplete or invalid.
    #[error("S3 blob store: {0}")]
    S3Config(String),
    /// The bucket could not be reached (wrong endpoint, bucket, credentials or network).
    #[error("S3 blob store: cannot reach bucket {bucket:?} at {endpoint}: {reason}")]
    S3Unreachable {
        /// The bucket.
        bucket: String,
        /// The endpoint, or the AWS default for the region.
        endpoint: String,
        /// What failed.
        reason: String,
    },
}

/// Opens the store `backend` names: the directory `blob_dir` for [`BlobBackend::Local`] (sweeping uploads a
/// crash left behind), or the bucket of `s3` for [`BlobBackend::S3`], checked to be reachable.
pub async fn open(
    backend: &BlobBackend,
    blob_dir: &Path,
    s3: &S3Config,
) -> Result<Arc<dyn BlobStore>, OpenError> {
    match backend {
        BlobBackend::Local => {
            let store = LocalBlobStore::open(blob_dir).map_err(|source| OpenError::Local {
                dir: blob_dir.to_path_buf(),
                source,
            })?;
            tracing::info!(dir = %blob_dir.display(), "local blob store ready");
            Ok(Arc::new(store))
        }
        BlobBackend::S3 { bucket, prefix } => {
            let mut s3 = s3.clone();
            if let Some(bucket) = bucket {
                s3.bucket = Some(bucket.clone());
            }
            if let Some(prefix) = prefix {
                s3.prefix.clone_from(prefix);
            }
            Ok(Arc::new(S3BlobStore::connect(&s3).await?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_forms() {
        assert_eq!("local".parse::<BlobBackend>().unwrap(), BlobBackend::Local);
        assert_eq!(
            "s3".parse::<BlobBackend>().unwrap(),
            BlobBackend::S3 {
                bucket: None,
                prefix: None
            }
        );
        assert_eq!(
            "s3://tern-blobs/market/v1/".parse::<BlobBackend>().unwrap(),
            BlobBackend::S3 {
                bucket: Some("tern-blobs".into()),
                prefix: Some("market/v1".into())
            }
        );
        assert_eq!(
            "s3://tern-blobs".parse::<BlobBackend>().unwrap(),
            BlobBackend::S3 {
                bucket: Some("tern-blobs".into()),
                prefix: None
            }
        );
        for bad in ["", "S3", "s3://", "s3:///x", "gs://b"] {
            assert!(bad.parse::<BlobBackend>().is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn check_counts_hashes_and_limits() {
        let id = ContentId::of(b"hello, world");
        let mut check = UploadCheck::new(12);
        check.update(b"hello, ").unwrap();
        check.update(b"world").unwrap();
        assert_eq!(check.finish(id).unwrap(), 12);

        let mut check = UploadCheck::new(11);
        check.update(b"hello, ").unwrap();
        assert!(matches!(
            check.update(b"world"),
            Err(BlobError::TooLarge { limit: 11 })
        ));

        let body: ByteStream = Box::pin(futures_util::stream::iter([Ok(Bytes::from_static(
            b"hello",
        ))]));
        let err = UploadCheck::new(100).drain(id, body).await.unwrap_err();
        assert!(matches!(err, BlobError::Mismatch(_)));
    }
}
