//! Writing GGUF version 3 files: metadata, validated tensors, aligned data, atomic replacement on disk.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use super::error::{GgufError, Result};
use super::metadata::{MetaArray, MetaValue, Metadata};
use super::quant;
use super::reader::{DEFAULT_ALIGNMENT, MAGIC, MAX_DIMS};
use super::types::GgmlType;

/// One tensor waiting to be written.
#[derive(Debug, Clone)]
struct PendingTensor {
    name: String,
    shape: Vec<u64>,
    ty: GgmlType,
    bytes: Vec<u8>,
}

/// Builds a GGUF file: add metadata and tensors, then write it.
///
/// Tensors are checked when added (shape, block size, byte length), so a written file always reads back. The data
/// alignment is `general.alignment` when that key is set, else 32.
#[derive(Debug, Clone, Default)]
pub struct GgufWriter {
    metadata: Metadata,
    tensors: Vec<PendingTensor>,
    names: HashSet<String>,
}

impl GgufWriter {
    /// An empty file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a metadata pair (keys are unique).
    pub fn metadata(&mut self, key: impl Into<String>, value: MetaValue) -> Result<&mut Self> {
        let key = key.into();
        if key == "general.alignment" {
            let a = match value {
                MetaValue::U32(a) => u64::from(a),
                _ => u64::MAX,
            };
            if a == 0 || !a.is_power_of_two() {
                return Err(GgufError::BadAlignment(a));
            }
        }
        self.metadata.insert(key, value)?;
        Ok(self)
    }

    /// Adds a tensor from its encoded bytes; `shape` is in ggml order (`shape[0]` is the row width).
    pub fn tensor(
        &mut self,
        name: impl Into<String>,
        shape: &[u64],
        ty: GgmlType,
        bytes: Vec<u8>,
    ) -> Result<&mut Self> {
        let name = name.into();
        let bad = |reason: String| GgufError::BadTensor {
            tensor: name.clone(),
            reason,
        };
        if shape.is_empty() || shape.len() > MAX_DIMS {
            return Err(bad(format!(
                "{} dimensions, expected 1 to {MAX_DIMS}",
                shape.len()
            )));
        }
        if name.len() > 65_535 {
            return Err(bad("name longer than 65535 bytes".into()));
        }
        if !shape[0].is_multiple_of(ty.block_len() as u64) {
            return Err(bad(format!(
                "row width {} is not a multiple of the {ty} block size {}",
                shape[0],
                ty.block_len()
            )));
        }
        let n = shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .filter(|&n| n <= i64::MAX as u64)
            .ok_or_else(|| bad(format!("shape {shape:?} overflows")))?;
        let expected = ty
            .bytes_for(n)
            .ok_or_else(|| bad(format!("shape {shape:?} overflows")))?;
        if bytes.len() as u64 != expected {
            return Err(bad(format!(
                "{} bytes given, but {n} {ty} elements take {expected} bytes",
                bytes.len()
            )));
        }
        if !self.names.insert(name.clone()) {
            return Err(GgufError::DuplicateTensor(name));
        }
        self.tensors.push(PendingTensor {
            name,
            shape: shape.to_vec(),
            ty,
            bytes,
        });
        Ok(self)
    }

    /// Adds a tensor from `f32` values (row-major, `shape[0]` fastest), encoding them as `ty`.
    pub fn tensor_f32(
        &mut self,
        name: impl Into<String>,
        shape: &[u64],
        ty: GgmlType,
        values: &[f32],
    ) -> Result<&mut Self> {
        let name = name.into();
        let n = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
        if n != Some(values.len() as u64) {
            return Err(GgufError::BadTensor {
                tensor: name,
                reason: format!("{} values given for shape {shape:?}", values.len()),
            });
        }
        let Some(bytes) = quant::quantize(ty, values) else {
            return Err(GgufError::BadTensor {
                tensor: name,
                reason: format!(
                    "{} values is not a whole number of {ty} blocks",
                    values.len()
                ),
            });
        };
        self.tensor(name, shape, ty, bytes)
    }

    fn alignment(&self) -> u64 {
        match self.metadata.get("general.alignment") {
            Some(MetaValue::U32(a)) => u64::from(*a),
            _ => DEFAULT_ALIGNMENT,
        }
    }

    /// The whole file as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_bytes(&mut out);
        out
    }

    /// Writes the file to a stream.
    pub fn write_to(&self, w: &mut impl Write) -> Result<()> {
        w.write_all(&self.to_bytes())?;
        Ok(())
    }

    /// Writes the file to `path` atomically: to a temporary file beside it, synced, then renamed over `path`.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
        let io_err = |p: &Path| {
            let p = p.to_path_buf();
            move |source| GgufError::Io { path: p, source }
        };
        let result = (|| {
            let mut file = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
            file.write_all(&self.to_bytes()).map_err(io_err(&tmp))?;
            file.sync_all().map_err(io_err(&tmp))?;
            std::fs::rename(&tmp, path).map_err(io_err(path))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    fn write_bytes(&self, out: &mut Vec<u8>) {
        let alignment = self.alignment();
        out.extend(MAGIC);
        out.extend(3u32.to_le_bytes());
        out.extend((self.tensors.len() as u64).to_le_bytes());
        out.extend((self.metadata.len() as u64).to_le_bytes());
        for (key, value) in self.metadata.iter() {
            put_str(out, key);
            out.extend(value.ty().id().to_le_bytes());
            put_value(out, value);
        }
        let mut offset = 0u64;
        for t in &self.tensors {
            put_str(out, &t.name);
            out.extend((t.shape.len() as u32).to_le_bytes());
            t.shape.iter().for_each(|d| out.extend(d.to_le_bytes()));
            out.extend(t.ty.id().to_le_bytes());
            out.extend(offset.to_le_bytes());
            offset = (offset + t.bytes.len() as u64).next_multiple_of(alignment);
        }
        pad(out, alignment);
        for t in &self.tensors {
            out.extend(&t.bytes);
            pad(out, alignment);
        }
    }
}

fn pad(out: &mut Vec<u8>, alignment: u64) {
    let len = (out.len() as u64).next_multiple_of(alignment);
    out.resize(len as usize, 0);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, value: &MetaValue) {
    match value {
        MetaValue::U8(v) => out.push(*v),
        MetaValue::I8(v) => out.extend(v.to_le_bytes()),
        MetaValue::U16(v) => out.extend(v.to_le_bytes()),
        MetaValue::I16(v) => out.extend(v.to_le_bytes()),
        MetaValue::U32(v) => out.extend(v.to_le_bytes()),
        MetaValue::I32(v) => out.extend(v.to_le_bytes()),
        MetaValue::F32(v) => out.extend(v.to_le_bytes()),
        MetaValue::Bool(v) => out.push(u8::from(*v)),
        MetaValue::Str(v) => put_str(out, v),
        MetaValue::Array(a) => put_array(out, a),
        MetaValue::U64(v) => out.extend(v.to_le_bytes()),
        MetaValue::I64(v) => out.extend(v.to_le_bytes()),
        MetaValue::F64(v) => out.extend(v.to_le_bytes()),
    }
}

fn put_array(out: &mut Vec<u8>, a: &MetaArray) {
    out.extend(a.elem_type().id().to_le_bytes());
    out.extend((a.len() as u64).to_le_bytes());
    match a {
        MetaArray::U8(v) => out.extend(v),
        MetaArray::I8(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        MetaArray::U16(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        MetaArray::I16(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        MetaArray::U32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        MetaArray::I32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        MetaArray::F32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        MetaArray::Bool(v) => v.iter().for_each(|x| out.push(u8::from(*x))),
        MetaArray::Str(v) => v.iter().for_each(|s| put_str(out, s)),
        MetaArray::Array(v) => v.iter().for_each(|inner| put_array(out, inner)),
        MetaArray::U64(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        MetaArray::I64(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        MetaArray::F64(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
    }
}
