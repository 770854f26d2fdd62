//! Plain-text corpora stored as a directory of `.txt` files, such as the Shakespeare corpus in the cache.

use std::path::{Path, PathBuf};

use super::DataError;

/// Where the Shakespeare corpus lies under the cache directory (`$TERN_CACHE_DIR`).
pub const SHAKESPEARE_DIR: &str = "corpora/shakespeare";

/// One text file of a corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextDocument {
    /// The file name, without the directory.
    pub name: String,
    /// The file's text.
    pub text: String,
}

/// Reads every `*.txt` file directly in `dir` (not in subdirectories), sorted by file name (byte order), so the
/// documents, and hence the examples, come in the same order on every machine.
///
/// Errors: the directory or a file cannot be read, a file is not UTF-8, or there is no `.txt` file.
pub fn read_text_dir(dir: &Path) -> Result<Vec<TextDocument>, DataError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DataError::Io { path, source }
    };
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        // A name that is not UTF-8 cannot be sorted the same way everywhere; such files are not corpus files.
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if name.ends_with(".txt") && entry.file_type().map_err(io(&path))?.is_file() {
            files.push((name, path));
        }
    }
    if files.is_empty() {
        return Err(DataError::Empty {
            what: format!("no .txt file in {}", dir.display()),
        });
    }
    files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    files
        .into_iter()
        .map(|(name, path)| {
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            let text = String::from_utf8(bytes).map_err(|e| DataError::FileNotUtf8 {
                byte: e.utf8_error().valid_up_to(),
                path,
            })?;
            Ok(TextDocument { name, text })
        })
        .collect()
}
