//! Pages of `GET /v1/jobs`, kept while the chain cursor stays where it is.
//!
//! The jobs view is a function of the indexed chain position: only the indexer writes it, and every write moves
//! the cursor (block number and hash) in the same transaction, reorg rollbacks included. So a page rendered at one
//! cursor is exactly the page at that cursor, on every replica sharing the database; checking the cursor costs one
//! single-row query instead of reading and encoding fifty jobs. Boards are read far more often than blocks come.
//! The cursor itself is read at most once per [`CURSOR_TTL`] per process, so a busy board costs no query at all:
//! a new block shows up to that much later than the indexer applied it, on top of the indexer's own delay.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;

use crate::db::{ChainCursor, Database};

/// How long a read of the chain cursor is trusted.
pub(crate) const CURSOR_TTL: Duration = Duration::from_millis(200);

/// Most pages kept (a page of 50 jobs is about 50 KB).
const MAX_PAGES: usize = 256;

/// Rendered pages by query, for one cursor.
#[derive(Debug, Default)]
pub(crate) struct PageCache {
    inner: Mutex<Pages>,
    /// The cursor as last read, and when.
    cursor: Mutex<Option<(Instant, Option<ChainCursor>)>>,
}

#[derive(Debug, Default)]
struct Pages {
    cursor: Option<(u64, String)>,
    pages: HashMap<String, Bytes>,
}

impl PageCache {
    /// The chain cursor, read from `db` unless it was read less than [`CURSOR_TTL`] ago.
    pub(crate) async fn cursor(&self, db: &Database) -> Result<Option<ChainCursor>, sqlx::Error> {
        {
            let last = self
                .cursor
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some((at, cursor)) = last.as_ref()
                && at.elapsed() < CURSOR_TTL
            {
                return Ok(cursor.clone());
            }
        }
        let cursor = db.chain_cursor().await?;
        *self
            .cursor
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Some((Instant::now(), cursor.clone()));
        Ok(cursor)
    }

    /// The page cached for `query` at `cursor`, if any. Pages of another cursor are dropped.
    pub(crate) fn get(&self, cursor: &ChainCursor, query: &str) -> Option<Bytes> {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (cursor.block_number, cursor.block_hash.clone());
        if inner.cursor.as_ref() != Some(&key) {
            inner.cursor = Some(key);
            inner.pages.clear();
            return None;
        }
        inner.pages.get(query).cloned()
    }

    /// Keeps `page` for `query` at `cursor`, unless the cursor moved since (a newer page would be replaced by an
    /// older one).
    pub(crate) fn put(&self, cursor: &ChainCursor, query: String, page: Bytes) {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if inner.cursor.as_ref() != Some(&(cursor.block_number, cursor.block_hash.clone())) {
            return;
        }
        if inner.pages.len() >= MAX_PAGES {
            inner.pages.clear();
        }
        inner.pages.insert(query, page);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(block_number: u64, hash: &str) -> ChainCursor {
        ChainCursor {
            market: "0x00".into(),
            block_number,
            block_hash: hash.into(),
        }
    }

    #[test]
    fn a_page_lives_as_long_as_its_cursor() {
        let cache = PageCache::default();
        assert_eq!(cache.get(&at(5, "0xa"), "state=open"), None);
        cache.put(
            &at(5, "0xa"),
            "state=open".into(),
            Bytes::from_static(b"page"),
        );
        assert_eq!(
            cache.get(&at(5, "0xa"), "state=open").as_deref(),
            Some(&b"page"[..])
        );
        assert_eq!(cache.get(&at(5, "0xa"), "state=claimed"), None);
        // A reorg to another block with the same number is another cursor.
        assert_eq!(cache.get(&at(5, "0xb"), "state=open"), None);
        assert_eq!(cache.get(&at(5, "0xa"), "state=open"), None);
        // A page rendered before the cursor moved is not kept.
        cache.put(
            &at(4, "0xc"),
            "state=open".into(),
            Bytes::from_static(b"old"),
        );
        assert_eq!(cache.get(&at(5, "0xa"), "state=open"), None);
    }
}
