//! The S3-compatible backend, over the `object_store` crate (AWS S3, MinIO, Ceph, R2 and the like).
//!
//! A blob is the object `<prefix>/sha256/<64 hex digits>`. An upload is checked while it streams and becomes
//! visible under that key only once its bytes hash to the id and fit the limit:
//!
//! - the first part's worth of bytes waits in memory, so a blob of at most one part is a single `PUT`, sent only
//!   after the check passed;
//! - a larger blob goes out as an S3 multipart upload to its final key, part by part while it streams (at most
//!   [`MAX_PARTS_IN_FLIGHT`] parts in flight). S3 shows no object until the upload is completed, which happens
//!   only after the check; a refused upload is aborted, which deletes its parts.
//!
//! An upload cut short by a crash leaves an incomplete multipart upload (never an object); a bucket lifecycle rule
//! (`AbortIncompleteMultipartUpload`) reclaims those.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use serde::Deserialize;
use tern_protocol::ContentId;

use super::{
    BlobError, BlobReader, BlobStore, ByteStream, OpenError, PutOutcome, UploadCheck, hex_of,
};

/// S3's smallest part of a multipart upload (all parts but the last), in bytes.
pub const MIN_PART_BYTES: usize = 5 << 20;

/// How many parts of one upload may be in flight at once; the stream waits while there are more, which bounds an
/// upload's memory to about `MAX_PARTS_IN_FLIGHT + 1` parts.
pub const MAX_PARTS_IN_FLIGHT: usize = 2;

/// How long the startup check of the bucket may take (the client retries failed requests with backoff).
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// A secret setting (secret key, session token). Its `Debug` hides the value, so configurations can be logged.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct S3Secret(String);

impl S3Secret {
    /// Wraps a configured value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
}

impl std::fmt::Debug for S3Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("S3Secret(***)")
    }
}

/// The S3-compatible blob store's settings (`[s3]` in the configuration file). Settings left out come from the
/// usual AWS variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
/// `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`, ...), then from the instance's or container's role.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// The service's URL, for S3-compatible stores (`http://127.0.0.1:9000`); AWS's own when unset.
    pub endpoint: Option<String>,
    /// The region (`us-east-1` when unset and not in the environment).
    pub region: Option<String>,
    /// The bucket, which must exist.
    pub bucket: Option<String>,
    /// A key prefix, so that several services can share a bucket (`market/blobs`; none by default).
    pub prefix: String,
    /// Allows a plain-HTTP endpoint (a local test server); HTTPS only otherwise.
    pub allow_http: bool,
    /// The access key id; from `AWS_ACCESS_KEY_ID` when unset.
    pub access_key_id: Option<String>,
    /// The secret access key; from `AWS_SECRET_ACCESS_KEY` when unset. Never logged.
    pub secret_access_key: Option<S3Secret>,
    /// A session token for temporary credentials; from `AWS_SESSION_TOKEN` when unset. Never logged.
    pub session_token: Option<S3Secret>,
    /// The size of a multipart upload's parts, in bytes: at least [`MIN_PART_BYTES`]. Blobs up to this size are
    /// one `PUT`; each upload in progress holds up to about three parts in memory.
    pub part_bytes: usize,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            endpoint: None,
            region: None,
            bucket: None,
            prefix: String::new(),
            allow_http: false,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            part_bytes: 8 << 20,
        }
    }
}

/// Blobs as objects in an S3-compatible bucket; see the module's documentation for how uploads stay invisible
/// until checked.
#[derive(Clone)]
pub struct S3BlobStore {
    store: Arc<AmazonS3>,
    bucket: String,
    root: ObjectPath,
    part_bytes: usize,
}

impl std::fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("bucket", &self.bucket)
            .field("prefix", &self.root.as_ref())
            .field("part_bytes", &self.part_bytes)
            .finish_non_exhaustive()
    }
}

impl S3BlobStore {
    /// Builds the client from `config` (and the AWS variables) and checks that the bucket can be listed; an
    /// unreachable endpoint, a missing bucket or refused credentials fail here rather than on the first upload.
    pub async fn connect(config: &S3Config) -> Result<Self, OpenError> {
        let bucket = config
            .bucket
            .clone()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| {
                OpenError::S3Config(
                    "no bucket: set [s3] bucket (TERN_MARKET_S3_BUCKET, --s3-bucket) or \
                     blob_store = \"s3://BUCKET[/PREFIX]\""
                        .into(),
                )
            })?;
        if config.part_bytes < MIN_PART_BYTES {
            return Err(OpenError::S3Config(format!(
                "part_bytes is {}, below S3's minimum part size of {MIN_PART_BYTES} bytes",
                config.part_bytes
            )));
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&bucket);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &config.region {
            builder = builder.with_region(region);
        }
        // Only ever switched on here, so that AWS_ALLOW_HTTP still works when the setting is left out.
        if config.allow_http {
            builder = builder.with_allow_http(true);
        }
        if let Some(id) = &config.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &config.secret_access_key {
            builder = builder.with_secret_access_key(&secret.0);
        }
        if let Some(token) = &config.session_token {
            builder = builder.with_token(&token.0);
        }
        let store = builder
            .build()
            .map_err(|e| OpenError::S3Config(e.to_string()))?;
        let root = ObjectPath::from(config.prefix.as_str());
        let endpoint = config
            .endpoint
            .clone()
            .unwrap_or_else(|| "the AWS endpoint of the region".into());
        let unreachable = |reason: String| OpenError::S3Unreachable {
            bucket: bucket.clone(),
            endpoint: endpoint.clone(),
            reason,
        };
        let prefix = (!config.prefix.is_empty()).then_some(&root);
        match tokio::time::timeout(PROBE_TIMEOUT, store.list_with_delimiter(prefix)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(unreachable(e.to_string())),
            Err(_) => {
                return Err(unreachable(format!(
                    "no answer within {} s",
                    PROBE_TIMEOUT.as_secs()
                )));
            }
        }
        tracing::info!(
            %bucket,
            prefix = root.as_ref(),
            %endpoint,
            region = config.region.as_deref().unwrap_or("(from the environment)"),
            "S3 blob store ready"
        );
        Ok(Self {
            store: Arc::new(store),
            bucket,
            root,
            part_bytes: config.part_bytes,
        })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The object key of blob `id`: `<prefix>/sha256/<64 hex digits>`.
    pub fn key_of(&self, id: &ContentId) -> String {
        self.path_of(id).to_string()
    }

    fn path_of(&self, id: &ContentId) -> ObjectPath {
        self.root.clone().join("sha256").join(hex_of(id))
    }

    async fn exists(&self, path: &ObjectPath) -> Result<bool, BlobError> {
        match self.store.head(path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(store_error(e)),
        }
    }

    async fn put_inner(
        &self,
        id: ContentId,
        body: ByteStream,
        max_bytes: u64,
    ) -> Result<PutOutcome, BlobError> {
        let path = self.path_of(&id);
        let mut check = UploadCheck::new(max_bytes);
        if self.exists(&path).await? {
            // Nothing to write, but the client still learns whether its bytes were the blob's.
            check.drain(id, body).await?;
            return Ok(PutOutcome::Existed);
        }
        let mut pending = Pending::new(Arc::clone(&self.store), path, self.part_bytes);
        let streamed = stream_into(&mut pending, &mut check, body).await;
        match streamed.and_then(|()| check.finish(id)) {
            Ok(_) => {
                // A concurrent upload of the same blob may complete too: same bytes under the same key.
                pending.commit().await.map_err(store_error)?;
                Ok(PutOutcome::Created)
            }
            Err(err) => {
                pending.abort().await;
                Err(err)
            }
        }
    }

    async fn get_inner(&self, id: ContentId) -> Result<Option<BlobReader>, BlobError> {
        match self.store.get(&self.path_of(&id)).await {
            Ok(found) => Ok(Some(BlobReader {
                len: found.meta.size,
                stream: Box::pin(found.into_stream().map_err(io::Error::other)),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_error(e)),
        }
    }
}

impl BlobStore for S3BlobStore {
    fn put(
        &self,
        id: ContentId,
        body: ByteStream,
        max_bytes: u64,
    ) -> BoxFuture<'_, Result<PutOutcome, BlobError>> {
        Box::pin(self.put_inner(id, body, max_bytes))
    }

    fn get(&self, id: ContentId) -> BoxFuture<'_, Result<Option<BlobReader>, BlobError>> {
        Box::pin(self.get_inner(id))
    }
}

/// Streams `body` through `check` into `pending`, stopping at the first refused or failed chunk.
async fn stream_into(
    pending: &mut Pending,
    check: &mut UploadCheck,
    mut body: ByteStream,
) -> Result<(), BlobError> {
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(BlobError::Upload)?;
        check.update(&chunk)?;
        pending.push(chunk).await.map_err(store_error)?;
    }
    Ok(())
}

fn store_error(err: object_store::Error) -> BlobError {
    BlobError::Store(io::Error::other(err))
}

/// The bytes of an upload not yet checked: in memory while they fit in one part, then a multipart upload to the
/// final key. Dropped without [`Pending::commit`] (the request was cancelled), it aborts the multipart upload in
/// the background so no parts are left behind.
struct Pending {
    store: Arc<AmazonS3>,
    path: ObjectPath,
    part_bytes: usize,
    head: Vec<Bytes>,
    head_len: usize,
    multipart: Option<WriteMultipart>,
}

impl Pending {
    fn new(store: Arc<AmazonS3>, path: ObjectPath, part_bytes: usize) -> Self {
        Self {
            store,
            path,
            part_bytes,
            head: Vec::new(),
            head_len: 0,
            multipart: None,
        }
    }

    async fn push(&mut self, chunk: Bytes) -> object_store::Result<()> {
        if let Some(upload) = &mut self.multipart {
            upload.wait_for_capacity(MAX_PARTS_IN_FLIGHT).await?;
            upload.put(chunk);
            return Ok(());
        }
        self.head_len += chunk.len();
        self.head.push(chunk);
        if self.head_len > self.part_bytes {
            let upload = self.store.put_multipart(&self.path).await?;
            let mut upload = WriteMultipart::new_with_chunk_size(upload, self.part_bytes);
            for chunk in self.head.drain(..) {
                upload.put(chunk);
            }
            self.multipart = Some(upload);
        }
        Ok(())
    }

    /// Makes the object visible: completes the multipart upload (which aborts it if that fails), or puts the
    /// bytes held in memory.
    async fn commit(mut self) -> object_store::Result<()> {
        match self.multipart.take() {
            Some(upload) => upload.finish().await.map(drop),
            None => {
                let payload: PutPayload = std::mem::take(&mut self.head).into_iter().collect();
                self.store.put(&self.path, payload).await.map(drop)
            }
        }
    }

    /// Drops the bytes: aborts the multipart upload, if one was started, and waits for S3 to delete its parts.
    async fn abort(mut self) {
        if let Some(upload) = self.multipart.take() {
            abort_upload(upload, &self.path).await;
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(upload) = self.multipart.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let path = self.path.clone();
            runtime.spawn(async move { abort_upload(upload, &path).await });
        }
    }
}

async fn abort_upload(upload: WriteMultipart, path: &ObjectPath) {
    if let Err(err) = upload.abort().await {
        // Not the client's problem: the parts stay invisible, and a lifecycle rule reclaims them.
        tracing::warn!(key = %path, %err, "could not abort a refused multipart upload");
    }
}
