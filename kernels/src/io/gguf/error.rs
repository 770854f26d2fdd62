//! What can go wrong reading or writing a GGUF file.

use std::path::PathBuf;

/// An error reading, querying or writing a GGUF file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GgufError {
    /// The file could not be read or written.
    #[error("GGUF file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Writing to a stream failed.
    #[error("writing GGUF: {0}")]
    Write(#[from] std::io::Error),
    /// The file ends before a field it declares.
    #[error(
        "GGUF truncated: {what} needs {need} bytes at offset {offset} but the file has {len} bytes (is the download complete?)"
    )]
    Truncated {
        /// The field being read.
        what: String,
        /// Where it starts.
        offset: u64,
        /// How many bytes it needs.
        need: u64,
        /// The file size.
        len: u64,
    },
    /// The first four bytes are not `GGUF`.
    #[error("not a GGUF file: magic bytes {0:02x?}, expected \"GGUF\"")]
    BadMagic([u8; 4]),
    /// A version this reader does not know.
    #[error(
        "unsupported GGUF version {0} (this reader takes versions 2 and 3; re-convert the model with a current llama.cpp)"
    )]
    UnsupportedVersion(u32),
    /// A big-endian GGUF file (its version reads byte-swapped).
    #[error(
        "big-endian GGUF (version {0} byte-swapped) is not supported; convert the model on a little-endian machine"
    )]
    BigEndian(u32),
    /// A count or size is beyond what the file could hold or beyond a sanity limit.
    #[error("GGUF {what}: {value} is beyond the limit {limit}; the file is corrupt or hostile")]
    Limit {
        /// What was counted.
        what: String,
        /// The declared value.
        value: u64,
        /// The largest value accepted here.
        limit: u64,
    },
    /// A string that is not UTF-8.
    #[error("GGUF {what} at offset {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// The string being read.
        what: String,
        /// Where it starts.
        offset: u64,
    },
    /// A metadata value type id outside the GGUF specification.
    #[error("GGUF metadata key {key:?} has unknown value type {ty}")]
    UnknownValueType {
        /// The key.
        key: String,
        /// The type id found.
        ty: u32,
    },
    /// A boolean byte other than 0 or 1.
    #[error("GGUF metadata key {key:?} has boolean byte {byte}, expected 0 or 1")]
    BadBool {
        /// The key.
        key: String,
        /// The byte found.
        byte: u8,
    },
    /// The same metadata key twice.
    #[error("GGUF metadata key {0:?} appears twice")]
    DuplicateKey(String),
    /// `general.alignment` is not a power of two or has the wrong type.
    #[error("GGUF general.alignment {0} is not a non-zero power of two")]
    BadAlignment(u64),
    /// A tensor type this crate does not decode.
    #[error("unsupported tensor type {id} ({name}) in tensor {tensor:?}")]
    UnsupportedTensorType {
        /// The ggml type id.
        id: u32,
        /// Its ggml name, or `unknown`.
        name: &'static str,
        /// The tensor.
        tensor: String,
    },
    /// Two tensors with one name.
    #[error("GGUF tensor {0:?} appears twice")]
    DuplicateTensor(String),
    /// A tensor shape that is invalid for its type or overflows.
    #[error("GGUF tensor {tensor:?}: {reason}")]
    BadShape {
        /// The tensor.
        tensor: String,
        /// What is wrong.
        reason: String,
    },
    /// A tensor whose data lies (partly) outside the file or is misaligned.
    #[error("GGUF tensor {tensor:?}: data at offset {offset} ({len} bytes) {reason}")]
    BadTensorData {
        /// The tensor.
        tensor: String,
        /// Its offset within the data section.
        offset: u64,
        /// Its size in bytes.
        len: u64,
        /// What is wrong.
        reason: String,
    },
    /// Two tensors whose data overlap.
    #[error("GGUF tensors {first:?} and {second:?} overlap in the data section")]
    Overlap {
        /// The tensor that starts first.
        first: String,
        /// The tensor that starts inside it.
        second: String,
    },
    /// No tensor of that name.
    #[error("GGUF has no tensor {0:?}")]
    NoTensor(String),
    /// A required metadata key is absent.
    #[error("GGUF metadata key {0:?} is missing")]
    MissingKey(String),
    /// A metadata value of another type than asked for.
    #[error("GGUF metadata key {key:?}: expected {expected}, found {found}")]
    WrongType {
        /// The key.
        key: String,
        /// The type asked for.
        expected: &'static str,
        /// The type (and, for out-of-range numbers, the value) found.
        found: String,
    },
    /// A tensor handed to the writer whose bytes do not match its shape and type.
    #[error("GGUF writer: tensor {tensor:?}: {reason}")]
    BadTensor {
        /// The tensor.
        tensor: String,
        /// What is wrong.
        reason: String,
    },
    /// Typed blocks asked of a tensor of another type.
    #[error("GGUF tensor {tensor:?} is {found}, expected {expected}")]
    WrongTensorType {
        /// The tensor.
        tensor: String,
        /// The type(s) asked for.
        expected: &'static str,
        /// Its type.
        found: super::types::GgmlType,
    },
    /// Ternary blocks asked of a tensor whose codes are not all ternary (TQ2_0's code 3).
    #[error("GGUF tensor {tensor:?} is not ternary: {reason}")]
    NotTernary {
        /// The tensor.
        tensor: String,
        /// Why.
        reason: String,
    },
}

/// A result whose error is a [`GgufError`].
pub type Result<T, E = GgufError> = std::result::Result<T, E>;
