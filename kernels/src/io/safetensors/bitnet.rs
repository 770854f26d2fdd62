//! BitNet b1.58 packed ternary weights, as Hugging Face transformers stores them (`integrations/bitnet.py`).
//!
//! **Packing.** A weight of unpacked shape `[out, in]` is stored as dtype U8 with shape `[out / 4, in]`: four 2-bit
//! codes per byte, code = value + 1 (so -1, 0, 1 are 0, 1, 2). With `P = out / 4` packed rows, bits `2i..2i+2` of
//! packed element `[r, c]` hold unpacked element `[i * P + r, c]`, for `i` in 0..4: the four values of one byte
//! are from rows `r`, `r + P`, `r + 2P`, `r + 3P`, not from adjacent rows. The same holds for any rank: the first
//! dimension is the packed one.
//!
//! **Scale.** Each packed `….weight` has a one-element `….weight_scale` tensor, and what it means depends on the
//! layer class the checkpoint's `config.json` names in `quantization_config.linear_class`:
//! - `"bitlinear"` (transformers' `BitLinear`, the default): the layer output is divided by `weight_scale`, so
//!   the real weight is **ternary ÷ weight_scale** (the scale is the inverse of the mean absolute weight).
//! - `"autobitlinear"` with `quantization_mode: "offline"` (used by `microsoft/bitnet-b1.58-2B-4T`): the output
//!   is multiplied by `weight_scale`, so the real weight is **ternary × weight_scale**.
//!
//! [`BitnetLinearClass`] makes that choice explicit; [`TernaryWeight`] keeps the stored scale untouched.

use super::error::SafetensorsError;
use super::reader::Safetensors;
use ::safetensors::Dtype;

/// Which transformers layer class a BitNet checkpoint was made for, which fixes what `weight_scale` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitnetLinearClass {
    /// `BitLinear`: real weight = ternary ÷ `weight_scale`.
    BitLinear,
    /// `AutoBitLinear` (offline quantization): real weight = ternary × `weight_scale`.
    AutoBitLinear,
}

impl BitnetLinearClass {
    /// The class for a `quantization_config.linear_class` value (`"bitlinear"`, `"autobitlinear"`); an absent
    /// value means `BitLinear`, transformers' default.
    pub fn from_config_name(name: Option<&str>) -> Option<Self> {
        match name {
            None | Some("bitlinear") => Some(Self::BitLinear),
            Some("autobitlinear") => Some(Self::AutoBitLinear),
            Some(_) => None,
        }
    }

    /// The factor that turns ternary values into real weights, given the stored `weight_scale`.
    pub fn real_scale(self, weight_scale: f32) -> f32 {
        match self {
            Self::BitLinear => 1.0 / weight_scale,
            Self::AutoBitLinear => weight_scale,
        }
    }
}

/// An unpacked BitNet weight.
#[derive(Debug, Clone, PartialEq)]
pub struct TernaryWeight {
    /// The unpacked shape, row-major (`[out, in]` for a linear layer).
    pub shape: Vec<usize>,
    /// The values in `{-1, 0, 1}`, row-major.
    pub values: Vec<i8>,
    /// The stored `weight_scale`, as is; see [`BitnetLinearClass`] for what it means.
    pub weight_scale: f32,
}

impl TernaryWeight {
    /// The real weights under `class`'s scale convention.
    pub fn dequantize(&self, class: BitnetLinearClass) -> Vec<f32> {
        let s = class.real_scale(self.weight_scale);
        self.values.iter().map(|&v| f32::from(v) * s).collect()
    }
}

/// Unpacks a U8 tensor of shape `packed_shape` into ternary values of shape `[4 * packed_shape[0], ..]`.
///
/// Errors with the index of the first byte that holds a code of 3.
pub fn unpack_ternary(
    packed: &[u8],
    packed_shape: &[usize],
) -> Result<(Vec<usize>, Vec<i8>), usize> {
    let Some((&rows, rest)) = packed_shape.split_first() else {
        return Ok((vec![], vec![]));
    };
    let inner: usize = rest.iter().product();
    let mut values = vec![0i8; packed.len() * 4];
    for (k, &byte) in packed.iter().enumerate() {
        let (r, c) = (k / inner.max(1), k % inner.max(1));
        for i in 0..4 {
            let code = (byte >> (2 * i)) & 3;
            if code == 3 {
                return Err(k);
            }
            values[((i * rows) + r) * inner + c] = code as i8 - 1;
        }
    }
    let mut shape = packed_shape.to_vec();
    shape[0] = rows * 4;
    Ok((shape, values))
}

/// Packs ternary values of shape `shape` (first dimension a multiple of 4) the way transformers does.
pub fn pack_ternary(values: &[i8], shape: &[usize]) -> Result<(Vec<usize>, Vec<u8>), String> {
    let Some((&out, rest)) = shape.split_first() else {
        return Err("a scalar cannot be packed".into());
    };
    if out % 4 != 0 {
        return Err(format!("first dimension {out} is not a multiple of 4"));
    }
    let inner: usize = rest.iter().product();
    if shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) != Some(values.len()) {
        return Err(format!("{} values for shape {shape:?}", values.len()));
    }
    let rows = out / 4;
    let mut packed = vec![0u8; rows * inner];
    for (idx, &v) in values.iter().enumerate() {
        if !(-1..=1).contains(&v) {
            return Err(format!("value {v} at {idx} is not ternary"));
        }
        let (row, c) = (idx / inner.max(1), idx % inner.max(1));
        let (i, r) = (row / rows, row % rows);
        packed[r * inner + c] |= ((v + 1) as u8) << (2 * i);
    }
    let mut packed_shape = shape.to_vec();
    packed_shape[0] = rows;
    Ok((packed_shape, packed))
}

/// The name of the scale tensor of a packed weight: `x.weight` → `x.weight_scale`.
pub fn scale_name(weight: &str) -> String {
    format!("{weight}_scale")
}

impl Safetensors {
    /// The packed BitNet weight called `name` (dtype U8), unpacked, with its `weight_scale`.
    pub fn ternary(&self, name: &str) -> Result<TernaryWeight, SafetensorsError> {
        let entry = self.tensor(name)?;
        if entry.dtype != Dtype::U8 {
            return Err(SafetensorsError::Dtype {
                tensor: name.to_string(),
                expected: "U8 (packed ternary)",
                found: entry.dtype,
            });
        }
        if entry.shape.is_empty() {
            return Err(SafetensorsError::Shape {
                tensor: name.to_string(),
                reason: "a packed weight cannot be a scalar".into(),
            });
        }
        let scale = scale_name(name);
        if !self.contains(&scale) {
            return Err(SafetensorsError::MissingScale {
                tensor: name.to_string(),
                scale,
            });
        }
        let scales = self.to_f32(&scale)?;
        let [weight_scale] = scales[..] else {
            return Err(SafetensorsError::Shape {
                tensor: scale,
                reason: format!("a weight scale has one element, this has {}", scales.len()),
            });
        };
        if !weight_scale.is_finite() || weight_scale == 0.0 {
            return Err(SafetensorsError::Shape {
                tensor: scale,
                reason: format!("weight scale {weight_scale} is not a finite non-zero number"),
            });
        }
        let (shape, values) =
            unpack_ternary(self.bytes(name)?, &entry.shape).map_err(|byte_index| {
                SafetensorsError::NotTernary {
                    tensor: name.to_string(),
                    byte_index,
                }
            })?;
        Ok(TernaryWeight {
            shape,
            values,
            weight_scale,
        })
    }
}
