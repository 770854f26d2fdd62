//! The content-addressed blob store: a [`BlobStore`] trait and its local directory backend, [`LocalBlobStore`].
//!
//! A blob is written only under the id its bytes hash to: [`BlobStore::put`] hashes the stream as it arrives and
//! refuses the blob (storing nothing) if the hash is not the id it was uploaded under, or if it grows past the
//! size limit. An S3-compatible backend can implement the same trait.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};
use tern_protocol::{ContentHasher, ContentId, ContentMismatch};
use tokio::io::AsyncWriteExt;

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
    /// stores nothing. Storing a blob that is already there is not an error.
    fn put(
        &self,
        id: ContentId,
        body: ByteStream,
        max_bytes: u64,
    ) -> BoxFuture<'_, Result<PutOutcome, BlobError>>;

    /// Opens blob `id`, or `None` if it is not stored.
    fn get(&self, id: ContentId) -> BoxFuture<'_, Result<Option<BlobReader>, BlobError>>;
}

/// Blobs as files in a directory: `<dir>/sha256/<first two hex digits>/<64 hex digits>`. Uploads stream into
/// `<dir>/tmp/` and are renamed into place once checked, so a reader never sees a partial blob.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    dir: PathBuf,
}

impl LocalBlobStore {
    /// A store in `dir`, creating the directory if needed.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(dir.join("tmp"))?;
        std::fs::create_dir_all(dir.join("sha256"))?;
        Ok(Self { dir })
    }

    /// The directory of the store.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of blob `id`.
    pub fn path_of(&self, id: &ContentId) -> PathBuf {
        let hex = id.to_string();
        let hex = &hex[tern_protocol::CONTENT_ID_PREFIX.len()..];
        self.dir.join("sha256").join(&hex[..2]).join(hex)
    }

    async fn put_inner(
        &self,
        id: ContentId,
        mut body: ByteStream,
        max_bytes: u64,
    ) -> Result<PutOutcome, BlobError> {
        // Dropped (and so deleted) on every early return: a refused upload leaves nothing behind.
        let temp = tempfile::Builder::new()
            .prefix("upload-")
            .tempfile_in(self.dir.join("tmp"))
            .map_err(BlobError::Store)?;
        let mut file =
            tokio::fs::File::from_std(temp.as_file().try_clone().map_err(BlobError::Store)?);
        let mut hasher = ContentHasher::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(BlobError::Upload)?;
            if hasher.bytes() + chunk.len() as u64 > max_bytes {
                return Err(BlobError::TooLarge { limit: max_bytes });
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(BlobError::Store)?;
        }
        let actual = hasher.finish();
        if actual != id {
            return Err(ContentMismatch {
                expected: id,
                actual,
            }
            .into());
        }
        file.sync_all().await.map_err(BlobError::Store)?;
        drop(file);
        let dest = self.path_of(&id);
        tokio::task::spawn_blocking(move || -> io::Result<PutOutcome> {
            if dest.exists() {
                return Ok(PutOutcome::Existed);
            }
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            // Same content under the same name: a concurrent upload of the same blob may win the rename race.
            temp.persist(&dest).map_err(|e| e.error)?;
            Ok(PutOutcome::Created)
        })
        .await
        .map_err(|e| BlobError::Store(io::Error::other(e)))?
        .map_err(BlobError::Store)
    }

    async fn get_inner(&self, id: ContentId) -> Result<Option<BlobReader>, BlobError> {
        let file = match tokio::fs::File::open(self.path_of(&id)).await {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(BlobError::Store(e)),
        };
        let len = file.metadata().await.map_err(BlobError::Store)?.len();
        Ok(Some(BlobReader {
            len,
            stream: Box::pin(tokio_util::io::ReaderStream::new(file)),
        }))
    }
}

impl BlobStore for LocalBlobStore {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(chunks: &[&'static [u8]]) -> ByteStream {
        let items: Vec<io::Result<Bytes>> =
            chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect();
        Box::pin(futures_util::stream::iter(items))
    }

    fn files_in(dir: &Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    #[tokio::test]
    async fn put_get_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let id = ContentId::of(b"hello, world");
        let put = store
            .put(id, stream(&[b"hello, ", b"world"]), 100)
            .await
            .unwrap();
        assert_eq!(put, PutOutcome::Created);
        let again = store
            .put(id, stream(&[b"hello, world"]), 100)
            .await
            .unwrap();
        assert_eq!(again, PutOutcome::Existed);
        let reader = store.get(id).await.unwrap().unwrap();
        assert_eq!(reader.len, 12);

        let other = ContentId::of(b"other");
        let err = store
            .put(other, stream(&[b"not other"]), 100)
            .await
            .unwrap_err();
        assert!(matches!(err, BlobError::Mismatch(_)));
        let err = store
            .put(other, stream(&[b"oth", b"er"]), 4)
            .await
            .unwrap_err();
        assert!(matches!(err, BlobError::TooLarge { limit: 4 }));
        assert!(store.get(other).await.unwrap().is_none());
        assert_eq!(files_in(&dir.path().join("tmp")), 0);
    }
}
