//! The web page (DESIGN.md §5): plain HTML, CSS and ES modules from `marketplace/web/`, embedded in the binary so
//! the service needs no files beside it and no build step.
//!
//! Pages: `/` (job board), `/jobs/{job_id}`, `/post`, `/devices`, `/verify`. They talk to the JSON API from the
//! browser; nothing here reads the database. Assets live under `/assets/{version}/{file}`, where `version` is a
//! digest of every asset: pages name the current version, so assets can be cached for a year (`immutable`), a new
//! binary changes every asset URL, and the modules' relative imports stay within one version. Pages themselves
//! are revalidated on every load (`no-cache` with an `ETag`).

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, HeaderName, IF_NONE_MATCH,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// The placeholder in the HTML files that becomes `/assets/{version}`.
const ASSETS_PLACEHOLDER: &str = "%ASSETS%";

/// Where pages may load from: this origin only (the API, the assets); no inline scripts or styles. Wallets are
/// browser extensions and are not subject to it.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

/// One embedded asset.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!("../web/assets/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file under `web/assets/`, with its media type (a module script must be served as JavaScript).
const ASSETS: &[Asset] = &[
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("app.js", JS),
    asset!("account.js", JS),
    asset!("events.js", JS),
    asset!("chart.js", JS),
    asset!("board.js", JS),
    asset!("job.js", JS),
    asset!("post.js", JS),
    asset!("devices.js", JS),
    asset!("verify.js", JS),
];

/// The pages, by name.
const PAGES: &[(&str, &str)] = &[
    ("board", include_str!("../web/index.html")),
    ("job", include_str!("../web/job.html")),
    ("post", include_str!("../web/post.html")),
    ("devices", include_str!("../web/devices.html")),
    ("verify", include_str!("../web/verify.html")),
];

/// The pages with the asset version filled in, their ETags, and the version: computed once.
struct Rendered {
    version: String,
    pages: HashMap<&'static str, (String, String)>,
}

fn rendered() -> &'static Rendered {
    static RENDERED: OnceLock<Rendered> = OnceLock::new();
    RENDERED.get_or_init(|| {
        let mut hasher = Sha256::new();
        for asset in ASSETS {
            hasher.update(asset.name.as_bytes());
            hasher.update((asset.bytes.len() as u64).to_le_bytes());
            hasher.update(asset.bytes);
        }
        let version = hex(&hasher.finalize()[..6]);
        let prefix = format!("/assets/{version}");
        let pages = PAGES
            .iter()
            .map(|(name, html)| {
                let html = html.replace(ASSETS_PLACEHOLDER, &prefix);
                let etag = format!("\"{}\"", hex(&Sha256::digest(html.as_bytes())[..8]));
                (*name, (html, etag))
            })
            .collect();
        Rendered { version, pages }
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The asset version pages currently name (a digest of every asset).
pub(crate) fn asset_version() -> &'static str {
    &rendered().version
}

/// Whether the request already holds this ETag.
fn fresh(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

fn static_headers(
    content_type: &'static str,
    cache: &'static str,
) -> [(HeaderName, HeaderValue); 4] {
    [
        (CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (CACHE_CONTROL, HeaderValue::from_static(cache)),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (REFERRER_POLICY, HeaderValue::from_static("same-origin")),
    ]
}

fn page(name: &str, headers: &HeaderMap) -> Response {
    let Some((html, etag)) = rendered().pages.get(name) else {
        return ApiError::NotFound.into_response();
    };
    let etag_value = HeaderValue::from_str(etag).unwrap_or(HeaderValue::from_static("\"\""));
    let mut response = if fresh(headers, etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        html.clone().into_response()
    };
    let h = response.headers_mut();
    // insert, not extend: the body's own Content-Type (text/plain for a String) must be replaced.
    for (name, value) in static_headers("text/html; charset=utf-8", "no-cache") {
        h.insert(name, value);
    }
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(ETAG, etag_value);
    response
}

/// `GET /`: the job board.
pub(crate) async fn board(headers: HeaderMap) -> Response {
    page("board", &headers)
}

/// `GET /jobs/{job_id}`: one job (the page reads the id from its URL).
pub(crate) async fn job(headers: HeaderMap) -> Response {
    page("job", &headers)
}

/// `GET /post`: the post form.
pub(crate) async fn post(headers: HeaderMap) -> Response {
    page("post", &headers)
}

/// `GET /devices`: a device owner's devices, jobs and earnings.
pub(crate) async fn devices(headers: HeaderMap) -> Response {
    page("devices", &headers)
}

/// `GET /verify`: a verifier's audits.
pub(crate) async fn verify(headers: HeaderMap) -> Response {
    page("verify", &headers)
}

/// `GET /assets/{version}/{file}`: an embedded asset. The current version is cached for a year; another version
/// (a page loaded before an upgrade) gets today's file, revalidated every time.
pub(crate) async fn asset(Path((version, file)): Path<(String, String)>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == file) else {
        return ApiError::NotFound.into_response();
    };
    let cache = if version == asset_version() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (static_headers(asset.content_type, cache), asset.bytes).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_file_is_embedded_and_every_page_names_only_embedded_assets() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/assets");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = ASSETS.iter().map(|a| a.name.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded, "web/assets and ASSETS differ");
        for (name, html) in PAGES {
            for part in html.split(ASSETS_PLACEHOLDER).skip(1) {
                let file = part.trim_start_matches('/').split('"').next().unwrap();
                assert!(
                    ASSETS.iter().any(|a| a.name == file),
                    "page {name} names {file}, which is not embedded"
                );
            }
        }
        for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let text = std::str::from_utf8(asset.bytes).unwrap();
            for line in text.lines().filter(|l| l.contains(" from './")) {
                let file = line
                    .split("from './")
                    .nth(1)
                    .unwrap()
                    .split('\'')
                    .next()
                    .unwrap();
                assert!(
                    ASSETS.iter().any(|a| a.name == file),
                    "{} imports {file}, which is not embedded",
                    asset.name
                );
            }
        }
    }
}
