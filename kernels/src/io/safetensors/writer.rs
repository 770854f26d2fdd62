//! Writing safetensors files: float tensors and BitNet packed ternary weights.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use ::safetensors::Dtype;
use ::safetensors::tensor::TensorView;

use super::bitnet::{pack_ternary, scale_name};
use super::error::SafetensorsError;
use crate::io::gguf::quant::{f32_to_bf16, f32_to_f16};

/// Builds a safetensors file.
#[derive(Debug, Clone, Default)]
pub struct SafetensorsWriter {
    tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
    names: HashSet<String>,
    metadata: HashMap<String, String>,
}

impl SafetensorsWriter {
    /// An empty file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a `__metadata__` string.
    pub fn metadata(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Adds a tensor from raw little-endian bytes; the length must match `dtype` and `shape`.
    pub fn add_raw(
        &mut self,
        name: impl Into<String>,
        dtype: Dtype,
        shape: &[usize],
        bytes: Vec<u8>,
    ) -> Result<&mut Self, SafetensorsError> {
        let name = name.into();
        TensorView::new(dtype, shape.to_vec(), &bytes).map_err(|e| SafetensorsError::Shape {
            tensor: name.clone(),
            reason: e.to_string(),
        })?;
        if !self.names.insert(name.clone()) {
            return Err(SafetensorsError::Duplicate(name));
        }
        self.tensors.push((name, dtype, shape.to_vec(), bytes));
        Ok(self)
    }

    /// Adds a float tensor, stored as `dtype` (F32, F16 or BF16; rounding to nearest even).
    pub fn add_f32(
        &mut self,
        name: impl Into<String>,
        dtype: Dtype,
        shape: &[usize],
        values: &[f32],
    ) -> Result<&mut Self, SafetensorsError> {
        let name = name.into();
        let bytes: Vec<u8> = match dtype {
            Dtype::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Dtype::F16 => values
                .iter()
                .flat_map(|&v| f32_to_f16(v).to_le_bytes())
                .collect(),
            Dtype::BF16 => values
                .iter()
                .flat_map(|&v| f32_to_bf16(v).to_le_bytes())
                .collect(),
            found => {
                return Err(SafetensorsError::Dtype {
                    tensor: name,
                    expected: "F32, F16 or BF16",
                    found,
                });
            }
        };
        self.add_raw(name, dtype, shape, bytes)
    }

    /// Adds a BitNet weight `name` (packed as U8, see [`super::bitnet`]) and its one-element `name_scale` in
    /// `scale_dtype`. `shape` is the unpacked shape; its first dimension must be a multiple of 4.
    pub fn add_ternary(
        &mut self,
        name: impl Into<String>,
        shape: &[usize],
        values: &[i8],
        weight_scale: f32,
        scale_dtype: Dtype,
    ) -> Result<&mut Self, SafetensorsError> {
        let name = name.into();
        let (packed_shape, packed) =
            pack_ternary(values, shape).map_err(|reason| SafetensorsError::Shape {
                tensor: name.clone(),
                reason,
            })?;
        self.add_f32(scale_name(&name), scale_dtype, &[1], &[weight_scale])?;
        self.add_raw(name, Dtype::U8, &packed_shape, packed)
    }

    /// The whole file as bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, SafetensorsError> {
        let views = self
            .tensors
            .iter()
            .map(|(name, dtype, shape, bytes)| {
                Ok((
                    name.as_str(),
                    TensorView::new(*dtype, shape.clone(), bytes)?,
                ))
            })
            .collect::<Result<Vec<_>, ::safetensors::SafeTensorError>>()?;
        let info = (!self.metadata.is_empty()).then(|| self.metadata.clone());
        Ok(::safetensors::serialize(views, info)?)
    }

    /// Writes the file to `path` atomically: to a temporary file beside it, synced, then renamed over `path`.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), SafetensorsError> {
        let path = path.as_ref();
        let bytes = self.to_bytes()?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| SafetensorsError::Io { path: p, source }
        };
        let result = (|| {
            let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
            file.write_all(&bytes).map_err(io(&tmp))?;
            file.sync_all().map_err(io(&tmp))?;
            std::fs::rename(&tmp, path).map_err(io(path))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}
