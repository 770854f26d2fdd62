//! The data cache that `deploy/fetch-data.sh` fills: `$TERN_CACHE_DIR`, else `<workspace>/.tern/cache`.

use std::path::PathBuf;

/// The SmolLM2-135M-Instruct model file inside the cache.
pub const SMOLLM2: &str = "models/SmolLM2-135M-Instruct.Q4_1.gguf";

/// The cache directory (which may not exist).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("TERN_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.tern/cache")))
}

/// `rel` inside the cache, or `None` with a note saying how to fetch it, so the calling test can skip.
pub fn cached(rel: &str) -> Option<PathBuf> {
    let path = cache_dir().join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipped: {} is absent; run deploy/fetch-data.sh",
            path.display()
        );
        None
    }
}
