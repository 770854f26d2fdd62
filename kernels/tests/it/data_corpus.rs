//! Corpora on disk: a directory of `.txt` files, and the Shakespeare corpus of the cache.

use std::path::{Path, PathBuf};

use tern_kernels::data::{
    DataError, Dataset, DatasetConfig, SHAKESPEARE_DIR, TextDocument, read_text_dir, text_examples,
};
use tern_kernels::rng::Key;

use super::byte_tokenizer::ByteTokenizer;

/// The data cache: `$TERN_CACHE_DIR`, else `<workspace>/.tern/cache`; `None` (with the skip message) when absent.
pub fn cache_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TERN_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join(".tern/cache")
        });
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: no data cache at {}; run deploy/fetch-data.sh",
            dir.display()
        );
        None
    }
}

/// A fresh directory under the target's scratch space.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("data-corpus")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn text_files_are_read_in_name_order_and_nothing_else_is() {
    let dir = scratch("order");
    std::fs::write(dir.join("b.txt"), "second").unwrap();
    std::fs::write(dir.join("a.txt"), "first").unwrap();
    std::fs::write(dir.join("B.txt"), "upper case sorts first").unwrap();
    std::fs::write(dir.join("notes.md"), "not a corpus file").unwrap();
    std::fs::create_dir(dir.join("sub.txt")).unwrap();
    let docs = read_text_dir(&dir).unwrap();
    let names: Vec<&str> = docs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["B.txt", "a.txt", "b.txt"]);
    assert_eq!(
        docs[1],
        TextDocument {
            name: "a.txt".into(),
            text: "first".into()
        }
    );
}

#[test]
fn unreadable_corpora_are_errors() {
    let dir = scratch("errors");
    assert!(matches!(read_text_dir(&dir), Err(DataError::Empty { .. })));
    assert!(matches!(
        read_text_dir(&dir.join("missing")),
        Err(DataError::Io { .. })
    ));
    std::fs::write(dir.join("bad.txt"), b"ok\xff").unwrap();
    let err = read_text_dir(&dir).unwrap_err();
    assert!(
        matches!(&err, DataError::FileNotUtf8 { path, byte: 2 } if path.ends_with("bad.txt")),
        "{err}"
    );
}

#[test]
fn shakespeare_with_the_byte_tokenizer() {
    let Some(cache) = cache_dir() else { return };
    let dir = cache.join(SHAKESPEARE_DIR);
    if !dir.is_dir() {
        eprintln!(
            "skipped: {} is absent; run deploy/fetch-data.sh",
            dir.display()
        );
        return;
    }
    let docs = read_text_dir(&dir).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    assert_eq!(
        docs.iter().map(|d| d.name.clone()).collect::<Vec<_>>(),
        names
    );
    let bytes: usize = docs.iter().map(|d| d.text.len()).sum();

    let seq_len = 256;
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
    let examples = text_examples(&texts, &ByteTokenizer::new(), seq_len).unwrap();
    let tokens = bytes + docs.len(); // one per byte plus one EOS per play
    assert_eq!(examples.stats().tokens, tokens as u64);
    assert_eq!(examples.len(), tokens / (seq_len + 1));
    assert_eq!(
        examples.stats().dropped_tokens,
        (tokens % (seq_len + 1)) as u64
    );

    let config = DatasetConfig::new(16);
    let dataset = Dataset::new(
        examples.clone(),
        Key::derive(&[3; 32], "data-order", 1),
        config,
    )
    .unwrap();
    let n = examples.len();
    assert_eq!(dataset.validation_examples().len(), n * 50 / 1000);
    assert_eq!(dataset.train_examples().len(), n - n * 50 / 1000);
    let again = Dataset::new(examples, Key::derive(&[3; 32], "data-order", 1), config).unwrap();
    for step in [0, 1, 2_000, 123_456] {
        assert_eq!(dataset.batch(step), again.batch(step));
    }
    let summary = dataset.summary(10_000);
    eprintln!("{summary}");
    assert_eq!(
        summary.epochs,
        (10_000u64 * 16).div_ceil(dataset.train_examples().len() as u64)
    );
}
