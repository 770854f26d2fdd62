//! [`SenderKey`]: the sender's signing key as configured, a hex key or the path of a file holding one, never
//! printed.

use std::path::PathBuf;

use alloy::signers::local::PrivateKeySigner;
use serde::Deserialize;

/// The settlement sender's private key as configured (`sender_key`): 64 hex digits (with or without `0x`), or
/// the path of a file that holds them. Its `Debug` shows neither, so configurations can be logged.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SenderKey(String);

/// Why the sender's key could not be loaded. Messages never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum SenderKeyError {
    /// The value (or the file's contents) is hex but not a valid secp256k1 private key of 32 bytes.
    #[error("sender_key{}: not a valid 32-byte secp256k1 private key in hex", .file.as_ref().map(|f| format!(" (file {})", f.display())).unwrap_or_default())]
    Invalid {
        /// The file it was read from, if it came from one.
        file: Option<PathBuf>,
    },
    /// The value is not hex, so it names a file, and that file could not be read.
    #[error("sender_key: cannot read the key file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
}

impl SenderKey {
    /// Wraps a configured value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The signer: the value itself when it is hex, else the contents of the file it names.
    pub fn signer(&self) -> Result<PrivateKeySigner, SenderKeyError> {
        let value = self.0.trim();
        if looks_like_hex(value) {
            return parse(value).ok_or(SenderKeyError::Invalid { file: None });
        }
        let path = PathBuf::from(value);
        let text = std::fs::read_to_string(&path).map_err(|source| SenderKeyError::Read {
            path: path.clone(),
            source,
        })?;
        parse(text.trim()).ok_or(SenderKeyError::Invalid { file: Some(path) })
    }
}

impl std::str::FromStr for SenderKey {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

impl std::fmt::Debug for SenderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SenderKey(***)")
    }
}

/// Hex digits with an optional `0x`: a key (perhaps a mistyped one), never a path. A mistyped key is then
/// reported as invalid instead of echoed back as a file name that does not exist.
fn looks_like_hex(value: &str) -> bool {
    let digits = value.strip_prefix("0x").unwrap_or(value);
    digits.len() >= 32 && digits.bytes().all(|b| b.is_ascii_hexdigit())
}

fn parse(value: &str) -> Option<PrivateKeySigner> {
    let bytes = alloy::hex::decode(value).ok()?;
    if bytes.len() != 32 {
        return None;
    }
    PrivateKeySigner::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Anvil's well-known first development key: public test material, not a secret.
    const DEV_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const DEV_ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

    #[test]
    fn hex_with_or_without_prefix_and_files() {
        let address: alloy::primitives::Address = DEV_ADDRESS.parse().unwrap();
        assert_eq!(SenderKey::new(DEV_KEY).signer().unwrap().address(), address);
        let prefixed = SenderKey::new(format!(" 0x{DEV_KEY}\n"));
        assert_eq!(prefixed.signer().unwrap().address(), address);

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sender.key");
        std::fs::write(&file, format!("0x{DEV_KEY}\n")).unwrap();
        let from_file = SenderKey::new(file.to_str().unwrap());
        assert_eq!(from_file.signer().unwrap().address(), address);
    }

    #[test]
    fn errors_and_debug_never_show_the_key() {
        let key = SenderKey::new(DEV_KEY);
        assert_eq!(format!("{key:?}"), "SenderKey(***)");

        let short = &DEV_KEY[..60];
        let err = SenderKey::new(short).signer().unwrap_err();
        assert!(
            matches!(err, SenderKeyError::Invalid { file: None }),
            "{err}"
        );
        assert!(!err.to_string().contains(short), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.key");
        std::fs::write(&file, "not a key").unwrap();
        let err = SenderKey::new(file.to_str().unwrap()).signer().unwrap_err();
        assert!(err.to_string().contains("bad.key"), "{err}");
        assert!(!err.to_string().contains("not a key"), "{err}");

        let err = SenderKey::new("/nonexistent/sender.key")
            .signer()
            .unwrap_err();
        assert!(matches!(err, SenderKeyError::Read { .. }), "{err}");
    }
}
