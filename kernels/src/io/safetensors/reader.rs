//! Reading a safetensors file held in memory.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use ::safetensors::{Dtype, SafeTensors};

use super::error::SafetensorsError;
use crate::io::gguf::quant::{bf16_to_f32, f16_to_f32};

/// One tensor's dtype, shape (row-major, last dimension fastest) and place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    /// The element type.
    pub dtype: Dtype,
    /// The shape, outermost first.
    pub shape: Vec<usize>,
    range: Range<usize>,
}

/// A safetensors file in memory, its header validated.
#[derive(Clone)]
pub struct Safetensors {
    bytes: Vec<u8>,
    tensors: HashMap<String, TensorEntry>,
    metadata: HashMap<String, String>,
}

impl std::fmt::Debug for Safetensors {
    // The derived form would print every byte of a model.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Safetensors")
            .field("tensors", &self.tensors.len())
            .field("file_bytes", &self.bytes.len())
            .finish()
    }
}

impl Safetensors {
    /// Reads and validates the file at `path` (the whole file is read into memory).
    pub fn read(path: impl AsRef<Path>) -> Result<Self, SafetensorsError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| SafetensorsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(bytes)
    }

    /// Validates a file held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, SafetensorsError> {
        let (header_len, meta) = SafeTensors::read_metadata(&bytes)?;
        // The crate has checked that the offsets tile the data section exactly, which ends at the end of the file.
        let data_start = header_len + 8;
        let tensors = meta
            .tensors()
            .into_iter()
            .map(|(name, info)| {
                let (s, e) = info.data_offsets;
                let entry = TensorEntry {
                    dtype: info.dtype,
                    shape: info.shape.clone(),
                    range: data_start + s..data_start + e,
                };
                (name, entry)
            })
            .collect();
        let metadata = meta
            .metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        Ok(Self {
            bytes,
            tensors,
            metadata,
        })
    }

    /// Tensor names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.tensors.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// The free-form `__metadata__` strings.
    pub fn metadata(&self) -> &HashMap<String, String> {
        &self.metadata
    }

    /// The entry of the tensor called `name`.
    pub fn tensor(&self, name: &str) -> Result<&TensorEntry, SafetensorsError> {
        self.tensors
            .get(name)
            .ok_or_else(|| SafetensorsError::NoTensor(name.to_string()))
    }

    /// Whether a tensor called `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// The raw little-endian bytes of the tensor called `name`.
    pub fn bytes(&self, name: &str) -> Result<&[u8], SafetensorsError> {
        let entry = self.tensor(name)?;
        self.bytes.get(entry.range.clone()).ok_or_else(|| {
            SafetensorsError::Format(format!("tensor {name:?} lies outside the file"))
        })
    }

    /// The F32, F16 or BF16 tensor called `name` as `f32`, row-major (exact: every such value is an `f32`).
    pub fn to_f32(&self, name: &str) -> Result<Vec<f32>, SafetensorsError> {
        let entry = self.tensor(name)?;
        let bytes = self.bytes(name)?;
        Ok(match entry.dtype {
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => bytes
                .chunks_exact(2)
                .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
            Dtype::BF16 => bytes
                .chunks_exact(2)
                .map(|b| bf16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
            found => {
                return Err(SafetensorsError::Dtype {
                    tensor: name.to_string(),
                    expected: "F32, F16 or BF16",
                    found,
                });
            }
        })
    }
}
