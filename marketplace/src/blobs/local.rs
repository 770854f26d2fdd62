//! The local directory backend.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use tern_protocol::ContentId;
use tokio::io::AsyncWriteExt;

use super::{BlobError, BlobReader, BlobStore, ByteStream, PutOutcome, UploadCheck, hex_of};

/// How old a file in `tmp/` must be before [`LocalBlobStore::open`] deletes it. An upload in progress writes its
/// file with every chunk, so only files a crash abandoned get this old.
pub const STALE_UPLOAD_AGE: Duration = Duration::from_secs(3600);

/// Blobs as files in a directory: `<dir>/sha256/<first two hex digits>/<64 hex digits>`. Uploads stream into
/// `<dir>/tmp/` and are renamed into place once checked, so a reader never sees a partial blob.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    dir: PathBuf,
}

impl LocalBlobStore {
    /// A store in `dir`, creating the directory if needed and deleting temporary files older than
    /// [`STALE_UPLOAD_AGE`] that a crash left in `tmp/`.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(dir.join("tmp"))?;
        std::fs::create_dir_all(dir.join("sha256"))?;
        let store = Self { dir };
        let swept = store.sweep_tmp(STALE_UPLOAD_AGE)?;
        if swept > 0 {
            tracing::info!(
                swept,
                dir = %store.dir.display(),
                "deleted stale temporary upload files"
            );
        }
        Ok(store)
    }

    /// The directory of the store.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of blob `id`.
    pub fn path_of(&self, id: &ContentId) -> PathBuf {
        let hex = hex_of(id);
        self.dir.join("sha256").join(&hex[..2]).join(hex)
    }

    /// Deletes the files in `tmp/` last modified more than `older_than` ago; returns how many. A file that
    /// vanishes meanwhile (its upload finished) is skipped.
    pub fn sweep_tmp(&self, older_than: Duration) -> io::Result<usize> {
        let now = SystemTime::now();
        let mut swept = 0;
        for entry in std::fs::read_dir(self.dir.join("tmp"))? {
            let entry = entry?;
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            let age = meta
                .modified()
                .ok()
                .and_then(|modified| now.duration_since(modified).ok());
            if !meta.is_file() || age.is_none_or(|age| age <= older_than) {
                continue;
            }
            match std::fs::remove_file(entry.path()) {
                Ok(()) => swept += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(swept)
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
        let mut check = UploadCheck::new(max_bytes);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(BlobError::Upload)?;
            check.update(&chunk)?;
            file.write_all(&chunk).await.map_err(BlobError::Store)?;
        }
        check.finish(id)?;
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
    use bytes::Bytes;

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

    #[test]
    fn open_sweeps_only_stale_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let stale = tmp.join("upload-stale");
        let fresh = tmp.join("upload-fresh");
        std::fs::write(&stale, b"left by a crash").unwrap();
        std::fs::write(&fresh, b"an upload in progress").unwrap();
        let age = |path: &Path, secs: u64| {
            std::fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(SystemTime::now() - Duration::from_secs(secs))
                .unwrap();
        };
        age(&stale, 2 * 3600);
        age(&fresh, 60);

        let store = LocalBlobStore::open(dir.path()).unwrap();
        assert!(!stale.exists());
        assert!(fresh.exists());
        assert_eq!(store.sweep_tmp(STALE_UPLOAD_AGE).unwrap(), 0);
        assert_eq!(store.sweep_tmp(Duration::from_secs(30)).unwrap(), 1);
        assert_eq!(files_in(&tmp), 0);
    }
}
