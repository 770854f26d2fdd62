//! Content ids: `sha256:<64 lowercase hex>` of a blob's bytes (DESIGN.md §3.1).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// The prefix every content id starts with.
pub const CONTENT_ID_PREFIX: &str = "sha256:";

/// The address of a blob (base model, dataset, tokenizer, adapter, checkpoint): the sha256 of its bytes.
///
/// Written `sha256:` followed by 64 **lowercase** hex digits. Uppercase digits are rejected rather than folded,
/// so every id has exactly one spelling: ids are compared as strings in URLs, database keys and inside the hashed
/// job spec. In JSON it is that string.
///
/// ```
/// use tern_protocol::ContentId;
///
/// let id = ContentId::of(b"abc");
/// assert_eq!(
///     id.to_string(),
///     "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// assert_eq!(id.to_string().parse::<ContentId>().unwrap(), id);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentId([u8; 32]);

impl ContentId {
    /// The id of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The id with this sha256 digest.
    pub const fn from_digest(digest: [u8; 32]) -> Self {
        Self(digest)
    }

    /// The sha256 digest.
    pub const fn digest(&self) -> &[u8; 32] {
        &self.0
    }

    /// Checks that `bytes` are the blob this id names: a mismatch is an error, never a warning (DESIGN.md §3.1).
    pub fn verify(&self, bytes: &[u8]) -> Result<(), ContentMismatch> {
        let actual = Self::of(bytes);
        if actual == *self {
            Ok(())
        } else {
            Err(ContentMismatch {
                expected: *self,
                actual,
            })
        }
    }
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(CONTENT_ID_PREFIX)?;
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentId({self})")
    }
}

/// Why a string is not a content id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContentIdError {
    /// It does not start with `sha256:`.
    #[error(
        "a content id starts with `sha256:` followed by 64 lowercase hex digits; `{0}` does not"
    )]
    MissingPrefix(String),
    /// The digest part is not 64 characters long.
    #[error(
        "a content id has 64 hex digits after `sha256:`, this one has {0}: give the full sha256 of the blob"
    )]
    WrongLength(usize),
    /// The digest has a character that is not a lowercase hex digit.
    #[error(
        "character {character:?} at position {position} after `sha256:` is not a lowercase hex digit \
         (0-9, a-f){hint}",
        hint = if character.is_ascii_hexdigit() { "; write content ids in lowercase" } else { "" }
    )]
    NotHex {
        /// The offending character.
        character: char,
        /// Its position among the 64 digits (0-based).
        position: usize,
    },
}

impl FromStr for ContentId {
    type Err = ContentIdError;

    fn from_str(s: &str) -> Result<Self, ContentIdError> {
        let hex = s
            .strip_prefix(CONTENT_ID_PREFIX)
            .ok_or_else(|| ContentIdError::MissingPrefix(s.to_string()))?;
        if let Some((position, character)) = hex
            .chars()
            .enumerate()
            .find(|&(_, c)| !matches!(c, '0'..='9' | 'a'..='f'))
        {
            return Err(ContentIdError::NotHex {
                character,
                position,
            });
        }
        if hex.len() != 64 {
            return Err(ContentIdError::WrongLength(hex.len()));
        }
        let mut digest = [0u8; 32];
        for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
            *byte = (nibble(pair[0]) << 4) | nibble(pair[1]);
        }
        Ok(Self(digest))
    }
}

/// The value of a lowercase hex digit (checked by the caller).
fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        _ => c - b'a' + 10,
    }
}

impl Serialize for ContentId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ContentId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ContentId;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a content id string `sha256:<64 lowercase hex digits>`")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ContentId, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// A blob whose bytes do not hash to the id it was fetched by.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("content mismatch: expected {expected}, the bytes hash to {actual}")]
pub struct ContentMismatch {
    /// The id the blob was asked for by.
    pub expected: ContentId,
    /// The id of the bytes received.
    pub actual: ContentId,
}

/// Hashes a blob as it streams in (an upload, a download), then gives its [`ContentId`].
///
/// ```
/// use tern_protocol::{ContentHasher, ContentId};
///
/// let mut hasher = ContentHasher::new();
/// hasher.update(b"hello, ");
/// hasher.update(b"world");
/// assert_eq!(hasher.bytes(), 12);
/// assert_eq!(hasher.finish(), ContentId::of(b"hello, world"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ContentHasher {
    sha: Sha256,
    bytes: u64,
}

impl ContentHasher {
    /// A hasher that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        self.sha.update(chunk);
        self.bytes += chunk.len() as u64;
    }

    /// How many bytes have been fed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The id of everything fed.
    pub fn finish(self) -> ContentId {
        ContentId(self.sha.finalize().into())
    }
}

impl std::io::Write for ContentHasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: &str = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn known_digests() {
        assert_eq!(ContentId::of(b"abc").to_string(), ABC);
        assert_eq!(ContentId::of(b"").to_string(), EMPTY);
        assert_eq!(ABC.parse::<ContentId>().unwrap(), ContentId::of(b"abc"));
    }

    #[test]
    fn parse_display_round_trip() {
        let id = ContentId::of(b"round trip");
        assert_eq!(id.to_string().parse::<ContentId>().unwrap(), id);
        assert_eq!(ContentId::from_digest(*id.digest()), id);
    }

    #[test]
    fn missing_prefix() {
        let err = ABC[7..].parse::<ContentId>().unwrap_err();
        assert!(matches!(err, ContentIdError::MissingPrefix(_)));
        assert!(err.to_string().contains("starts with `sha256:`"));
        let err = ABC
            .replace("sha256:", "SHA256:")
            .parse::<ContentId>()
            .unwrap_err();
        assert!(matches!(err, ContentIdError::MissingPrefix(_)));
        let err = ABC
            .replace("sha256:", "sha512:")
            .parse::<ContentId>()
            .unwrap_err();
        assert!(matches!(err, ContentIdError::MissingPrefix(_)));
    }

    #[test]
    fn wrong_length() {
        assert_eq!(
            ABC[..ABC.len() - 1].parse::<ContentId>().unwrap_err(),
            ContentIdError::WrongLength(63)
        );
        assert_eq!(
            format!("{ABC}0").parse::<ContentId>().unwrap_err(),
            ContentIdError::WrongLength(65)
        );
        assert_eq!(
            "sha256:".parse::<ContentId>().unwrap_err(),
            ContentIdError::WrongLength(0)
        );
        assert!(
            ContentIdError::WrongLength(63)
                .to_string()
                .contains("64 hex digits")
        );
    }

    #[test]
    fn non_hex() {
        let bad = ABC.replacen('b', "g", 1);
        assert_eq!(
            bad.parse::<ContentId>().unwrap_err(),
            ContentIdError::NotHex {
                character: 'g',
                position: 0
            }
        );
        let err = format!("{} ", &ABC[..ABC.len() - 1])
            .parse::<ContentId>()
            .unwrap_err();
        assert_eq!(
            err,
            ContentIdError::NotHex {
                character: ' ',
                position: 63
            }
        );
        // Characters are checked before the length.
        assert_eq!(
            "sha256:é".parse::<ContentId>().unwrap_err(),
            ContentIdError::NotHex {
                character: 'é',
                position: 0
            }
        );
    }

    #[test]
    fn uppercase_is_rejected_with_a_hint() {
        let upper = format!("sha256:{}", ABC[7..].to_uppercase());
        let err = upper.parse::<ContentId>().unwrap_err();
        assert_eq!(
            err,
            ContentIdError::NotHex {
                character: 'B',
                position: 0
            }
        );
        assert!(err.to_string().contains("lowercase"), "{err}");
    }

    #[test]
    fn serde_as_string() {
        let id = ContentId::of(b"abc");
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{ABC}\""));
        assert_eq!(serde_json::from_str::<ContentId>(&json).unwrap(), id);
        let err = serde_json::from_str::<ContentId>("\"sha256:00\"").unwrap_err();
        assert!(err.to_string().contains("64 hex digits"), "{err}");
        let err = serde_json::from_str::<ContentId>("42").unwrap_err();
        assert!(err.to_string().contains("content id string"), "{err}");
    }

    #[test]
    fn streaming_equals_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut hasher = ContentHasher::new();
        for chunk in data.chunks(333) {
            hasher.update(chunk);
        }
        assert_eq!(hasher.bytes(), 10_000);
        assert_eq!(hasher.finish(), ContentId::of(&data));

        let mut writer = ContentHasher::new();
        std::io::copy(&mut &data[..], &mut writer).unwrap();
        assert_eq!(writer.finish(), ContentId::of(&data));
    }

    #[test]
    fn verify_checks_bytes() {
        let id = ContentId::of(b"abc");
        assert!(id.verify(b"abc").is_ok());
        let err = id.verify(b"abd").unwrap_err();
        assert_eq!(err.expected, id);
        assert_eq!(err.actual, ContentId::of(b"abd"));
        assert!(err.to_string().contains(ABC));
    }
}
