//! Parsing a GGUF file (versions 2 and 3) held in memory, with every count, length and offset checked against the
//! file size before anything is allocated.

use std::collections::HashMap;
use std::path::Path;

use super::error::{GgufError, Result};
use super::metadata::{MetaArray, MetaType, MetaValue, Metadata};
use super::types::{GgmlType, id_name};

/// The four bytes every GGUF file starts with.
pub const MAGIC: [u8; 4] = *b"GGUF";
/// The alignment of tensor data when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// The most dimensions a ggml tensor has.
pub const MAX_DIMS: usize = 4;
/// How deep arrays may nest: real files use one level, and the bound keeps hostile input off the stack.
const MAX_ARRAY_DEPTH: u32 = 8;
/// The longest key or tensor name accepted (the specification caps keys at 65535 bytes).
const MAX_NAME_LEN: u64 = 65_535;

/// One tensor's entry in the file's tensor table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor's name (`blk.0.attn_q.weight`).
    pub name: String,
    /// Dimensions in ggml order: `shape[0]` is the innermost (fastest-varying) one, the width of a row.
    pub shape: Vec<u64>,
    /// The element type.
    pub ty: GgmlType,
    /// Byte offset of the data from the start of the file's data section.
    pub offset: u64,
}

impl TensorInfo {
    /// The number of elements (the product of the shape). Checked when the file was read.
    pub fn n_elements(&self) -> u64 {
        self.shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .unwrap_or(u64::MAX)
    }

    /// The width of one row (`shape[0]`).
    pub fn row_width(&self) -> u64 {
        self.shape.first().copied().unwrap_or(1)
    }

    /// The number of rows (the product of the outer dimensions).
    pub fn n_rows(&self) -> u64 {
        self.shape
            .iter()
            .skip(1)
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .unwrap_or(u64::MAX)
    }

    /// The size of the data in bytes.
    pub fn n_bytes(&self) -> u64 {
        self.ty.bytes_for(self.n_elements()).unwrap_or(u64::MAX)
    }
}

/// A GGUF file in memory: metadata, tensor table and the raw data section.
#[derive(Clone)]
pub struct Gguf {
    version: u32,
    metadata: Metadata,
    tensors: Vec<TensorInfo>,
    by_name: HashMap<String, usize>,
    alignment: u64,
    data: Vec<u8>,
    data_start: usize,
}

impl Gguf {
    /// Reads and parses the file at `path` (the whole file is read into memory).
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| GgufError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(bytes)
    }

    /// Parses a file held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        let mut c = Cursor {
            buf: &bytes,
            pos: 0,
        };
        let magic = c.take(4, || "magic".into())?;
        if magic != MAGIC {
            return Err(GgufError::BadMagic([
                magic[0], magic[1], magic[2], magic[3],
            ]));
        }
        let version = c.u32(|| "version".into())?;
        if matches!(version.swap_bytes(), 2 | 3) {
            return Err(GgufError::BigEndian(version.swap_bytes()));
        }
        if version != 2 && version != 3 {
            return Err(GgufError::UnsupportedVersion(version));
        }
        let n_tensors = c.u64(|| "tensor count".into())?;
        let n_kv = c.u64(|| "metadata count".into())?;
        // A key/value pair takes at least 13 bytes (key length, type, one-byte value) and a tensor entry 24
        // (name length, dimension count, type, offset): counts beyond that cannot be honest.
        c.check_count(n_kv, 13, "metadata count")?;
        c.check_count(n_tensors, 24, "tensor count")?;

        let mut metadata = Metadata::new();
        for i in 0..n_kv {
            let key = c.string(MAX_NAME_LEN, || format!("metadata key #{i}"))?;
            let ty = c.u32(|| format!("value type of {key:?}"))?;
            let ty = MetaType::from_id(ty).ok_or_else(|| GgufError::UnknownValueType {
                key: key.clone(),
                ty,
            })?;
            let value = c.value(ty, &key, 0)?;
            metadata.insert(key, value)?;
        }

        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(_) => {
                let a = metadata.get_u64("general.alignment")?;
                if a == 0 || !a.is_power_of_two() {
                    return Err(GgufError::BadAlignment(a));
                }
                a
            }
        };

        let mut tensors = Vec::with_capacity(n_tensors as usize);
        let mut by_name = HashMap::with_capacity(n_tensors as usize);
        for i in 0..n_tensors {
            let info = c.tensor_info(i)?;
            if by_name.insert(info.name.clone(), tensors.len()).is_some() {
                return Err(GgufError::DuplicateTensor(info.name));
            }
            tensors.push(info);
        }

        let header_end = c.pos as u64;
        let data_start = header_end.div_ceil(alignment).saturating_mul(alignment);
        let data_len = (bytes.len() as u64).saturating_sub(data_start);
        check_layout(&tensors, alignment, data_len)?;
        let data_start = usize::try_from(data_start.min(bytes.len() as u64)).unwrap_or(bytes.len());
        Ok(Self {
            version,
            metadata,
            tensors,
            by_name,
            alignment,
            data: bytes,
            data_start,
        })
    }

    /// Bytes of the file this value holds in memory.
    pub fn byte_len(&self) -> usize {
        self.data.len()
    }

    /// The format version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The alignment of tensor data in this file.
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// The byte offset of the data section in the file.
    pub fn data_offset(&self) -> u64 {
        self.data_start as u64
    }

    /// All metadata, in file order.
    pub fn meta(&self) -> &Metadata {
        &self.metadata
    }

    /// The value of one metadata key.
    pub fn metadata(&self, key: &str) -> Option<&MetaValue> {
        self.metadata.get(key)
    }

    /// See [`Metadata::get_u32`].
    pub fn get_u32(&self, key: &str) -> Result<u32> {
        self.metadata.get_u32(key)
    }

    /// See [`Metadata::get_u32_opt`].
    pub fn get_u32_opt(&self, key: &str) -> Result<Option<u32>> {
        self.metadata.get_u32_opt(key)
    }

    /// See [`Metadata::get_u64`].
    pub fn get_u64(&self, key: &str) -> Result<u64> {
        self.metadata.get_u64(key)
    }

    /// See [`Metadata::get_i32`].
    pub fn get_i32(&self, key: &str) -> Result<i32> {
        self.metadata.get_i32(key)
    }

    /// See [`Metadata::get_f32`].
    pub fn get_f32(&self, key: &str) -> Result<f32> {
        self.metadata.get_f32(key)
    }

    /// See [`Metadata::get_f32_opt`].
    pub fn get_f32_opt(&self, key: &str) -> Result<Option<f32>> {
        self.metadata.get_f32_opt(key)
    }

    /// See [`Metadata::get_bool`].
    pub fn get_bool(&self, key: &str) -> Result<bool> {
        self.metadata.get_bool(key)
    }

    /// See [`Metadata::get_bool_opt`].
    pub fn get_bool_opt(&self, key: &str) -> Result<Option<bool>> {
        self.metadata.get_bool_opt(key)
    }

    /// See [`Metadata::get_str`].
    pub fn get_str(&self, key: &str) -> Result<&str> {
        self.metadata.get_str(key)
    }

    /// See [`Metadata::get_str_opt`].
    pub fn get_str_opt(&self, key: &str) -> Result<Option<&str>> {
        self.metadata.get_str_opt(key)
    }

    /// See [`Metadata::get_str_array`].
    pub fn get_str_array(&self, key: &str) -> Result<&[String]> {
        self.metadata.get_str_array(key)
    }

    /// See [`Metadata::get_str_array_opt`].
    pub fn get_str_array_opt(&self, key: &str) -> Result<Option<&[String]>> {
        self.metadata.get_str_array_opt(key)
    }

    /// See [`Metadata::get_i32_array`].
    pub fn get_i32_array(&self, key: &str) -> Result<&[i32]> {
        self.metadata.get_i32_array(key)
    }

    /// See [`Metadata::get_i32_array_opt`].
    pub fn get_i32_array_opt(&self, key: &str) -> Result<Option<&[i32]>> {
        self.metadata.get_i32_array_opt(key)
    }

    /// See [`Metadata::get_f32_array`].
    pub fn get_f32_array(&self, key: &str) -> Result<&[f32]> {
        self.metadata.get_f32_array(key)
    }

    /// See [`Metadata::get_f32_array_opt`].
    pub fn get_f32_array_opt(&self, key: &str) -> Result<Option<&[f32]>> {
        self.metadata.get_f32_array_opt(key)
    }

    /// Every tensor entry, in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The entry of the tensor called `name`.
    pub fn tensor(&self, name: &str) -> Result<&TensorInfo> {
        self.by_name
            .get(name)
            .and_then(|&i| self.tensors.get(i))
            .ok_or_else(|| GgufError::NoTensor(name.to_string()))
    }

    /// The raw bytes of a tensor (blocks as stored), for loaders that keep the quantized form.
    ///
    /// Entries from this file were checked when it was read; an entry that does not fit this file's data section
    /// (one made up, or taken from another file) gives an empty slice.
    pub fn tensor_bytes(&self, info: &TensorInfo) -> &[u8] {
        let data = self.data.get(self.data_start..).unwrap_or_default();
        let (Ok(start), Ok(len)) = (
            usize::try_from(info.offset),
            usize::try_from(info.n_bytes()),
        ) else {
            return &[];
        };
        start
            .checked_add(len)
            .and_then(|end| data.get(start..end))
            .unwrap_or_default()
    }

    /// The raw bytes of the tensor called `name`.
    pub fn tensor_data(&self, name: &str) -> Result<&[u8]> {
        Ok(self.tensor_bytes(self.tensor(name)?))
    }

    /// The whole file as read.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }
}

impl std::fmt::Debug for Gguf {
    // The derived form would print every byte of a model.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gguf")
            .field("version", &self.version)
            .field("metadata_keys", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .field("alignment", &self.alignment)
            .field("file_bytes", &self.data.len())
            .finish()
    }
}

/// Checks that every tensor's data is aligned, inside the data section, and apart from every other tensor's.
fn check_layout(tensors: &[TensorInfo], alignment: u64, data_len: u64) -> Result<()> {
    let mut spans: Vec<(u64, u64, &str)> = Vec::with_capacity(tensors.len());
    for t in tensors {
        let len = t.n_bytes();
        let bad = |reason: String| GgufError::BadTensorData {
            tensor: t.name.clone(),
            offset: t.offset,
            len,
            reason,
        };
        if t.offset % alignment != 0 {
            return Err(bad(format!(
                "is not a multiple of the alignment {alignment}"
            )));
        }
        match t.offset.checked_add(len) {
            Some(end) if end <= data_len => {}
            _ => {
                return Err(bad(format!(
                    "ends past the data section ({data_len} bytes): the file is truncated"
                )));
            }
        }
        if len > 0 {
            spans.push((t.offset, t.offset + len, &t.name));
        }
    }
    spans.sort_unstable();
    for pair in spans.windows(2) {
        if pair[1].0 < pair[0].1 {
            return Err(GgufError::Overlap {
                first: pair[0].2.to_string(),
                second: pair[1].2.to_string(),
            });
        }
    }
    Ok(())
}

/// A read position in the file, every read bounds-checked.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> u64 {
        (self.buf.len() - self.pos) as u64
    }

    fn take(&mut self, n: u64, what: impl FnOnce() -> String) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(GgufError::Truncated {
                what: what(),
                offset: self.pos as u64,
                need: n,
                len: self.buf.len() as u64,
            });
        }
        let n = n as usize;
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: impl FnOnce() -> String) -> Result<[u8; N]> {
        let bytes = self.take(N as u64, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn u32(&mut self, what: impl FnOnce() -> String) -> Result<u32> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: impl FnOnce() -> String) -> Result<u64> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// Rejects a count of items of at least `min_bytes` each that could not fit in the rest of the file.
    fn check_count(&self, count: u64, min_bytes: u64, what: &str) -> Result<()> {
        let limit = self.remaining() / min_bytes;
        if count > limit {
            return Err(GgufError::Limit {
                what: what.to_string(),
                value: count,
                limit,
            });
        }
        Ok(())
    }

    fn string(&mut self, max_len: u64, what: impl Fn() -> String) -> Result<String> {
        let len = self.u64(|| format!("length of {}", what()))?;
        if len > max_len {
            return Err(GgufError::Limit {
                what: format!("length of {}", what()),
                value: len,
                limit: max_len,
            });
        }
        let offset = self.pos as u64;
        let bytes = self.take(len, &what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| GgufError::InvalidUtf8 {
            what: what(),
            offset,
        })
    }

    fn value(&mut self, ty: MetaType, key: &str, depth: u32) -> Result<MetaValue> {
        let what = || format!("value of {key:?}");
        Ok(match ty {
            MetaType::U8 => MetaValue::U8(self.array::<1>(what)?[0]),
            MetaType::I8 => MetaValue::I8(i8::from_le_bytes(self.array(what)?)),
            MetaType::U16 => MetaValue::U16(u16::from_le_bytes(self.array(what)?)),
            MetaType::I16 => MetaValue::I16(i16::from_le_bytes(self.array(what)?)),
            MetaType::U32 => MetaValue::U32(u32::from_le_bytes(self.array(what)?)),
            MetaType::I32 => MetaValue::I32(i32::from_le_bytes(self.array(what)?)),
            MetaType::F32 => MetaValue::F32(f32::from_le_bytes(self.array(what)?)),
            MetaType::U64 => MetaValue::U64(u64::from_le_bytes(self.array(what)?)),
            MetaType::I64 => MetaValue::I64(i64::from_le_bytes(self.array(what)?)),
            MetaType::F64 => MetaValue::F64(f64::from_le_bytes(self.array(what)?)),
            MetaType::Bool => MetaValue::Bool(self.bool(key)?),
            MetaType::Str => MetaValue::Str(self.string(u64::MAX, what)?),
            MetaType::Array => MetaValue::Array(self.meta_array(key, depth)?),
        })
    }

    fn bool(&mut self, key: &str) -> Result<bool> {
        match self.array::<1>(|| format!("value of {key:?}"))?[0] {
            0 => Ok(false),
            1 => Ok(true),
            byte => Err(GgufError::BadBool {
                key: key.to_string(),
                byte,
            }),
        }
    }

    fn meta_array(&mut self, key: &str, depth: u32) -> Result<MetaArray> {
        if depth >= MAX_ARRAY_DEPTH {
            return Err(GgufError::Limit {
                what: format!("array nesting depth of {key:?}"),
                value: u64::from(depth) + 1,
                limit: u64::from(MAX_ARRAY_DEPTH),
            });
        }
        let ty = self.u32(|| format!("array element type of {key:?}"))?;
        let elem = MetaType::from_id(ty).ok_or_else(|| GgufError::UnknownValueType {
            key: key.to_string(),
            ty,
        })?;
        let n = self.u64(|| format!("array length of {key:?}"))?;
        self.check_count(n, elem.min_bytes(), &format!("array length of {key:?}"))?;
        let n = n as usize;
        macro_rules! fixed {
            ($variant:ident, $t:ty) => {{
                let size = std::mem::size_of::<$t>();
                let bytes = self.take((n * size) as u64, || format!("array of {key:?}"))?;
                MetaArray::$variant(
                    bytes
                        .chunks_exact(size)
                        .map(|c| <$t>::from_le_bytes(c.try_into().unwrap_or_default()))
                        .collect(),
                )
            }};
        }
        Ok(match elem {
            MetaType::U8 => MetaArray::U8(
                self.take(n as u64, || format!("array of {key:?}"))?
                    .to_vec(),
            ),
            MetaType::I8 => fixed!(I8, i8),
            MetaType::U16 => fixed!(U16, u16),
            MetaType::I16 => fixed!(I16, i16),
            MetaType::U32 => fixed!(U32, u32),
            MetaType::I32 => fixed!(I32, i32),
            MetaType::F32 => fixed!(F32, f32),
            MetaType::U64 => fixed!(U64, u64),
            MetaType::I64 => fixed!(I64, i64),
            MetaType::F64 => fixed!(F64, f64),
            MetaType::Bool => {
                MetaArray::Bool((0..n).map(|_| self.bool(key)).collect::<Result<_>>()?)
            }
            MetaType::Str => MetaArray::Str(
                (0..n)
                    .map(|i| self.string(u64::MAX, || format!("element {i} of {key:?}")))
                    .collect::<Result<_>>()?,
            ),
            MetaType::Array => MetaArray::Array(
                (0..n)
                    .map(|_| self.meta_array(key, depth + 1))
                    .collect::<Result<_>>()?,
            ),
        })
    }

    fn tensor_info(&mut self, i: u64) -> Result<TensorInfo> {
        let name = self.string(MAX_NAME_LEN, || format!("name of tensor #{i}"))?;
        let n_dims = self.u32(|| format!("dimension count of tensor {name:?}"))?;
        if n_dims == 0 || n_dims as usize > MAX_DIMS {
            return Err(GgufError::BadShape {
                tensor: name,
                reason: format!("{n_dims} dimensions, expected 1 to {MAX_DIMS}"),
            });
        }
        let mut shape = Vec::with_capacity(n_dims as usize);
        for d in 0..n_dims {
            shape.push(self.u64(|| format!("dimension {d} of tensor {name:?}"))?);
        }
        let ty_id = self.u32(|| format!("type of tensor {name:?}"))?;
        let offset = self.u64(|| format!("data offset of tensor {name:?}"))?;
        let Some(ty) = GgmlType::from_id(ty_id) else {
            return Err(GgufError::UnsupportedTensorType {
                id: ty_id,
                name: id_name(ty_id),
                tensor: name,
            });
        };
        // ggml counts elements in i64.
        shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .filter(|&n| n <= i64::MAX as u64)
            .ok_or_else(|| GgufError::BadShape {
                tensor: name.clone(),
                reason: format!("shape {shape:?} has more than 2^63 elements"),
            })?;
        if !shape[0].is_multiple_of(ty.block_len() as u64) {
            return Err(GgufError::BadShape {
                tensor: name,
                reason: format!(
                    "row width {} is not a multiple of the {ty} block size {}",
                    shape[0],
                    ty.block_len()
                ),
            });
        }
        Ok(TensorInfo {
            name,
            shape,
            ty,
            offset,
        })
    }
}
