//! GGUF metadata: typed values, nested arrays, and getters that say which key had which wrong type.

use std::collections::HashMap;

use super::error::{GgufError, Result};

/// A GGUF metadata value type (the `u32` before each value in the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetaType {
    /// `uint8`.
    U8,
    /// `int8`.
    I8,
    /// `uint16`.
    U16,
    /// `int16`.
    I16,
    /// `uint32`.
    U32,
    /// `int32`.
    I32,
    /// `float32`.
    F32,
    /// `bool` (one byte, 0 or 1).
    Bool,
    /// UTF-8 string with a `u64` length.
    Str,
    /// Array: element type, `u64` count, elements.
    Array,
    /// `uint64`.
    U64,
    /// `int64`.
    I64,
    /// `float64`.
    F64,
}

impl MetaType {
    /// The type for a GGUF value type id.
    pub fn from_id(id: u32) -> Option<Self> {
        Some(match id {
            0 => Self::U8,
            1 => Self::I8,
            2 => Self::U16,
            3 => Self::I16,
            4 => Self::U32,
            5 => Self::I32,
            6 => Self::F32,
            7 => Self::Bool,
            8 => Self::Str,
            9 => Self::Array,
            10 => Self::U64,
            11 => Self::I64,
            12 => Self::F64,
            _ => return None,
        })
    }

    /// The GGUF value type id.
    pub fn id(self) -> u32 {
        match self {
            Self::U8 => 0,
            Self::I8 => 1,
            Self::U16 => 2,
            Self::I16 => 3,
            Self::U32 => 4,
            Self::I32 => 5,
            Self::F32 => 6,
            Self::Bool => 7,
            Self::Str => 8,
            Self::Array => 9,
            Self::U64 => 10,
            Self::I64 => 11,
            Self::F64 => 12,
        }
    }

    /// The fewest bytes one value of this type takes in a file (bounds array counts before allocating).
    pub(crate) fn min_bytes(self) -> u64 {
        match self {
            Self::U8 | Self::I8 | Self::Bool => 1,
            Self::U16 | Self::I16 => 2,
            Self::U32 | Self::I32 | Self::F32 => 4,
            Self::U64 | Self::I64 | Self::F64 | Self::Str => 8,
            Self::Array => 12,
        }
    }

    /// A lower-case name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::U8 => "u8",
            Self::I8 => "i8",
            Self::U16 => "u16",
            Self::I16 => "i16",
            Self::U32 => "u32",
            Self::I32 => "i32",
            Self::F32 => "f32",
            Self::Bool => "bool",
            Self::Str => "string",
            Self::Array => "array",
            Self::U64 => "u64",
            Self::I64 => "i64",
            Self::F64 => "f64",
        }
    }
}

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    /// `uint8`.
    U8(u8),
    /// `int8`.
    I8(i8),
    /// `uint16`.
    U16(u16),
    /// `int16`.
    I16(i16),
    /// `uint32`.
    U32(u32),
    /// `int32`.
    I32(i32),
    /// `float32`.
    F32(f32),
    /// `bool`.
    Bool(bool),
    /// `string`.
    Str(String),
    /// `array` (homogeneous, possibly nested).
    Array(MetaArray),
    /// `uint64`.
    U64(u64),
    /// `int64`.
    I64(i64),
    /// `float64`.
    F64(f64),
}

/// A homogeneous metadata array, stored unboxed per element type (a vocabulary is tens of thousands of strings).
#[derive(Debug, Clone, PartialEq)]
pub enum MetaArray {
    /// `uint8` elements.
    U8(Vec<u8>),
    /// `int8` elements.
    I8(Vec<i8>),
    /// `uint16` elements.
    U16(Vec<u16>),
    /// `int16` elements.
    I16(Vec<i16>),
    /// `uint32` elements.
    U32(Vec<u32>),
    /// `int32` elements.
    I32(Vec<i32>),
    /// `float32` elements.
    F32(Vec<f32>),
    /// `bool` elements.
    Bool(Vec<bool>),
    /// `string` elements.
    Str(Vec<String>),
    /// Nested arrays, each with its own element type.
    Array(Vec<MetaArray>),
    /// `uint64` elements.
    U64(Vec<u64>),
    /// `int64` elements.
    I64(Vec<i64>),
    /// `float64` elements.
    F64(Vec<f64>),
}

impl MetaValue {
    /// The value's type.
    pub fn ty(&self) -> MetaType {
        match self {
            Self::U8(_) => MetaType::U8,
            Self::I8(_) => MetaType::I8,
            Self::U16(_) => MetaType::U16,
            Self::I16(_) => MetaType::I16,
            Self::U32(_) => MetaType::U32,
            Self::I32(_) => MetaType::I32,
            Self::F32(_) => MetaType::F32,
            Self::Bool(_) => MetaType::Bool,
            Self::Str(_) => MetaType::Str,
            Self::Array(_) => MetaType::Array,
            Self::U64(_) => MetaType::U64,
            Self::I64(_) => MetaType::I64,
            Self::F64(_) => MetaType::F64,
        }
    }

    /// A description of the type for messages: `"u32"`, `"array of string"`.
    pub fn type_name(&self) -> String {
        match self {
            Self::Array(a) => format!("array of {}", a.elem_type().name()),
            v => v.ty().name().to_string(),
        }
    }

    /// The value as a signed 128-bit integer, for any integer type (lossless).
    fn as_integer(&self) -> Option<i128> {
        Some(match *self {
            Self::U8(v) => v.into(),
            Self::I8(v) => v.into(),
            Self::U16(v) => v.into(),
            Self::I16(v) => v.into(),
            Self::U32(v) => v.into(),
            Self::I32(v) => v.into(),
            Self::U64(v) => v.into(),
            Self::I64(v) => v.into(),
            _ => return None,
        })
    }
}

impl MetaArray {
    /// The element type.
    pub fn elem_type(&self) -> MetaType {
        match self {
            Self::U8(_) => MetaType::U8,
            Self::I8(_) => MetaType::I8,
            Self::U16(_) => MetaType::U16,
            Self::I16(_) => MetaType::I16,
            Self::U32(_) => MetaType::U32,
            Self::I32(_) => MetaType::I32,
            Self::F32(_) => MetaType::F32,
            Self::Bool(_) => MetaType::Bool,
            Self::Str(_) => MetaType::Str,
            Self::Array(_) => MetaType::Array,
            Self::U64(_) => MetaType::U64,
            Self::I64(_) => MetaType::I64,
            Self::F64(_) => MetaType::F64,
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            Self::U8(v) => v.len(),
            Self::I8(v) => v.len(),
            Self::U16(v) => v.len(),
            Self::I16(v) => v.len(),
            Self::U32(v) => v.len(),
            Self::I32(v) => v.len(),
            Self::F32(v) => v.len(),
            Self::Bool(v) => v.len(),
            Self::Str(v) => v.len(),
            Self::Array(v) => v.len(),
            Self::U64(v) => v.len(),
            Self::I64(v) => v.len(),
            Self::F64(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The metadata of one file: key/value pairs in file order, with lookup by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    entries: Vec<(String, MetaValue)>,
    index: HashMap<String, usize>,
}

impl Metadata {
    /// Empty metadata.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a pair; a key already present is an error (GGUF keys are unique).
    pub fn insert(&mut self, key: impl Into<String>, value: MetaValue) -> Result<()> {
        let key = key.into();
        if self.index.contains_key(&key) {
            return Err(GgufError::DuplicateKey(key));
        }
        self.index.insert(key.clone(), self.entries.len());
        self.entries.push((key, value));
        Ok(())
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.index
            .get(key)
            .and_then(|&i| self.entries.get(i))
            .map(|(_, v)| v)
    }

    /// Every pair, in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &MetaValue)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of pairs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn require(&self, key: &str) -> Result<&MetaValue> {
        self.get(key)
            .ok_or_else(|| GgufError::MissingKey(key.to_string()))
    }

    fn integer<T: TryFrom<i128>>(&self, key: &str, expected: &'static str) -> Result<Option<T>> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let wrong = || GgufError::WrongType {
            key: key.to_string(),
            expected,
            found: value.type_name(),
        };
        let n = value.as_integer().ok_or_else(wrong)?;
        T::try_from(n).map(Some).map_err(|_| GgufError::WrongType {
            key: key.to_string(),
            expected,
            found: format!("{} {n} (out of range)", value.type_name()),
        })
    }

    fn wrong(key: &str, expected: &'static str, value: &MetaValue) -> GgufError {
        GgufError::WrongType {
            key: key.to_string(),
            expected,
            found: value.type_name(),
        }
    }

    /// An unsigned 32-bit integer; any integer type is accepted when its value fits.
    pub fn get_u32(&self, key: &str) -> Result<u32> {
        self.get_u32_opt(key)?
            .ok_or_else(|| GgufError::MissingKey(key.to_string()))
    }

    /// [`Metadata::get_u32`], with `None` for an absent key.
    pub fn get_u32_opt(&self, key: &str) -> Result<Option<u32>> {
        self.integer(key, "u32")
    }

    /// An unsigned 64-bit integer; any integer type is accepted when its value fits.
    pub fn get_u64(&self, key: &str) -> Result<u64> {
        self.get_u64_opt(key)?
            .ok_or_else(|| GgufError::MissingKey(key.to_string()))
    }

    /// [`Metadata::get_u64`], with `None` for an absent key.
    pub fn get_u64_opt(&self, key: &str) -> Result<Option<u64>> {
        self.integer(key, "u64")
    }

    /// A signed 32-bit integer; any integer type is accepted when its value fits.
    pub fn get_i32(&self, key: &str) -> Result<i32> {
        self.get_i32_opt(key)?
            .ok_or_else(|| GgufError::MissingKey(key.to_string()))
    }

    /// [`Metadata::get_i32`], with `None` for an absent key.
    pub fn get_i32_opt(&self, key: &str) -> Result<Option<i32>> {
        self.integer(key, "i32")
    }

    /// A 32-bit float (a `float64` value is narrowed).
    pub fn get_f32(&self, key: &str) -> Result<f32> {
        self.get_f32_opt(key)?
            .ok_or_else(|| GgufError::MissingKey(key.to_string()))
    }

    /// [`Metadata::get_f32`], with `None` for an absent key.
    pub fn get_f32_opt(&self, key: &str) -> Result<Option<f32>> {
        match self.get(key) {
            None => Ok(None),
            Some(MetaValue::F32(v)) => Ok(Some(*v)),
            Some(MetaValue::F64(v)) => Ok(Some(*v as f32)),
            Some(v) => Err(Self::wrong(key, "f32", v)),
        }
    }

    /// A boolean.
    pub fn get_bool(&self, key: &str) -> Result<bool> {
        self.get_bool_opt(key)?
            .ok_or_else(|| GgufError::MissingKey(key.to_string()))
    }

    /// [`Metadata::get_bool`], with `None` for an absent key.
    pub fn get_bool_opt(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(MetaValue::Bool(v)) => Ok(Some(*v)),
            Some(v) => Err(Self::wrong(key, "bool", v)),
        }
    }

    /// A string.
    pub fn get_str(&self, key: &str) -> Result<&str> {
        self.get_str_opt(key)?
            .ok_or_else(|| GgufError::MissingKey(key.to_string()))
    }

    /// [`Metadata::get_str`], with `None` for an absent key.
    pub fn get_str_opt(&self, key: &str) -> Result<Option<&str>> {
        match self.get(key) {
            None => Ok(None),
            Some(MetaValue::Str(v)) => Ok(Some(v)),
            Some(v) => Err(Self::wrong(key, "string", v)),
        }
    }

    /// An array of any element type.
    pub fn get_array(&self, key: &str) -> Result<&MetaArray> {
        match self.require(key)? {
            MetaValue::Array(a) => Ok(a),
            v => Err(Self::wrong(key, "array", v)),
        }
    }

    /// An array of strings (`tokenizer.ggml.tokens`, `tokenizer.ggml.merges`).
    pub fn get_str_array(&self, key: &str) -> Result<&[String]> {
        self.get_str_array_opt(key)?
            .ok_or_else(|| GgufError::MissingKey(key.to_string()))
    }

    /// [`Metadata::get_str_array`], with `None` for an absent key.
    pub fn get_str_array_opt(&self, key: &str) -> Result<Option<&[String]>> {
        match self.get(key) {
            None => Ok(None),
            Some(MetaValue::Array(MetaArray::Str(v))) => Ok(Some(v)),
            Some(v) => Err(Self::wrong(key, "array of string", v)),
        }
    }

    /// An array of `int32` (`tokenizer.ggml.token_type`).
    pub fn get_i32_array(&self, key: &str) -> Result<&[i32]> {
        self.get_i32_array_opt(key)?
            .ok_or_else(|| GgufError::MissingKey(key.to_string()))
    }

    /// [`Metadata::get_i32_array`], with `None` for an absent key.
    pub fn get_i32_array_opt(&self, key: &str) -> Result<Option<&[i32]>> {
        match self.get(key) {
            None => Ok(None),
            Some(MetaValue::Array(MetaArray::I32(v))) => Ok(Some(v)),
            Some(v) => Err(Self::wrong(key, "array of i32", v)),
        }
    }

    /// An array of `float32` (`tokenizer.ggml.scores`).
    pub fn get_f32_array(&self, key: &str) -> Result<&[f32]> {
        self.get_f32_array_opt(key)?
            .ok_or_else(|| GgufError::MissingKey(key.to_string()))
    }

    /// [`Metadata::get_f32_array`], with `None` for an absent key.
    pub fn get_f32_array_opt(&self, key: &str) -> Result<Option<&[f32]>> {
        match self.get(key) {
            None => Ok(None),
            Some(MetaValue::Array(MetaArray::F32(v))) => Ok(Some(v)),
            Some(v) => Err(Self::wrong(key, "array of f32", v)),
        }
    }
}
