//! The web page over HTTP: pages, their asset URLs, media types and cache headers. What the pages do in a browser
//! is tested in `browser.rs`.

use crate::util::TestApp;

/// The `/assets/{version}` prefix a page names.
fn asset_prefix(html: &str) -> String {
    let start = html.find("/assets/").expect("the page names no asset");
    let rest = &html[start..];
    let version_end = rest["/assets/".len()..].find('/').unwrap() + "/assets/".len();
    rest[..version_end].to_string()
}

#[tokio::test]
async fn every_page_is_html_that_names_versioned_assets() {
    let app = TestApp::start().await;
    let job = format!("/jobs/0x{}", "ab".repeat(32));
    for path in ["/", job.as_str(), "/post", "/devices", "/verify"] {
        let response = app.anon.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        assert_eq!(
            headers["content-type"], "text/html; charset=utf-8",
            "{path}"
        );
        assert_eq!(headers["cache-control"], "no-cache", "{path}");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("script-src 'self'")
        );
        assert!(headers.contains_key("etag"), "{path}");
        let html = response.text().await.unwrap();
        assert!(html.starts_with("<!doctype html>"), "{path}");
        assert!(
            !html.contains("%ASSETS%"),
            "{path}: placeholder left in the page"
        );
        assert!(html.contains("<main id=\"main\">"), "{path}");
    }
}

#[tokio::test]
async fn a_page_is_not_sent_again_when_its_etag_matches() {
    let app = TestApp::start().await;
    let first = app.anon.get(app.url("/post")).send().await.unwrap();
    let etag = first.headers()["etag"].clone();
    let again = app
        .anon
        .get(app.url("/post"))
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag);
}

#[tokio::test]
async fn assets_have_their_media_type_and_the_current_version_is_immutable() {
    let app = TestApp::start().await;
    let html = app
        .anon
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = asset_prefix(&html);
    for (file, media) in [
        ("board.js", "text/javascript; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
    ] {
        let response = app
            .anon
            .get(app.url(&format!("{prefix}/{file}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{file}");
        assert_eq!(response.headers()["content-type"], media, "{file}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable",
            "{file}"
        );
    }
    // A page loaded before an upgrade still gets the file, but must not keep it.
    let stale = app
        .anon
        .get(app.url("/assets/000000000000/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);
    assert_eq!(stale.headers()["cache-control"], "no-cache");
    let missing = app
        .anon
        .get(app.url(&format!("{prefix}/nope.js")))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}
