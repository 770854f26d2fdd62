//! The ggml tensor types this crate decodes, with their block layouts.

/// Elements per super-block of the k-quant and ternary formats (`QK_K`).
pub const QK_K: usize = 256;

/// A ggml tensor element type that this crate decodes.
///
/// Block layouts (all little-endian, `f16` is IEEE half precision):
///
/// | type | elements/block | bytes/block | layout |
/// |---|---|---|---|
/// | F32, F16, BF16 | 1 | 4, 2, 2 | the value |
/// | I8, I16, I32 | 1 | 1, 2, 4 | the value, two's complement |
/// | Q4_0 | 32 | 18 | `f16 d`, `u8 qs[16]`: element `j` is `(qs[j] & 15) - 8`, element `j + 16` is `(qs[j] >> 4) - 8`, times `d` |
/// | Q4_1 | 32 | 20 | `f16 d`, `f16 m`, `u8 qs[16]`: nibbles as Q4_0 without the `- 8`, times `d` plus `m` |
/// | Q8_0 | 32 | 34 | `f16 d`, `i8 qs[32]`: `qs[j] * d` |
/// | TQ1_0 | 256 | 54 | `u8 qs[48]`, `u8 qh[4]`, `f16 d`: base-3 digits, see [`super::quant`] |
/// | TQ2_0 | 256 | 66 | `u8 qs[64]`, `f16 d`: 2-bit codes `c`, value `(c - 1) * d` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// IEEE half.
    F16,
    /// 4-bit, symmetric, blocks of 32.
    Q4_0,
    /// 4-bit with minimum, blocks of 32.
    Q4_1,
    /// 8-bit, blocks of 32.
    Q8_0,
    /// 8-bit integer.
    I8,
    /// 16-bit integer.
    I16,
    /// 32-bit integer.
    I32,
    /// bfloat16.
    BF16,
    /// Ternary, 1.6875 bits per weight (5 base-3 digits per byte), blocks of 256.
    TQ1_0,
    /// Ternary, 2.0625 bits per weight (2-bit codes), blocks of 256.
    TQ2_0,
}

impl GgmlType {
    /// Every supported type.
    pub const ALL: [GgmlType; 11] = [
        Self::F32,
        Self::F16,
        Self::Q4_0,
        Self::Q4_1,
        Self::Q8_0,
        Self::I8,
        Self::I16,
        Self::I32,
        Self::BF16,
        Self::TQ1_0,
        Self::TQ2_0,
    ];

    /// The type for a ggml type id, if this crate decodes it.
    pub fn from_id(id: u32) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            8 => Self::Q8_0,
            24 => Self::I8,
            25 => Self::I16,
            26 => Self::I32,
            30 => Self::BF16,
            34 => Self::TQ1_0,
            35 => Self::TQ2_0,
            _ => return None,
        })
    }

    /// The ggml type id stored in the file.
    pub fn id(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q8_0 => 8,
            Self::I8 => 24,
            Self::I16 => 25,
            Self::I32 => 26,
            Self::BF16 => 30,
            Self::TQ1_0 => 34,
            Self::TQ2_0 => 35,
        }
    }

    /// The ggml name (`"Q8_0"`, …).
    pub fn name(self) -> &'static str {
        id_name(self.id())
    }

    /// Elements per block: a row's width must be a multiple of it.
    pub fn block_len(self) -> usize {
        match self {
            Self::F32 | Self::F16 | Self::BF16 | Self::I8 | Self::I16 | Self::I32 => 1,
            Self::Q4_0 | Self::Q4_1 | Self::Q8_0 => 32,
            Self::TQ1_0 | Self::TQ2_0 => QK_K,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::F16 | Self::BF16 | Self::I16 => 2,
            Self::F32 | Self::I32 => 4,
            Self::Q4_0 => 18,
            Self::Q4_1 => 20,
            Self::Q8_0 => 34,
            Self::TQ1_0 => 54,
            Self::TQ2_0 => 66,
        }
    }

    /// Bytes taken by `n_elements` elements (a multiple of [`GgmlType::block_len`]), or `None` on overflow.
    pub fn bytes_for(self, n_elements: u64) -> Option<u64> {
        (n_elements / self.block_len() as u64).checked_mul(self.block_bytes() as u64)
    }
}

impl std::fmt::Display for GgmlType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The ggml name of any type id, for error messages about types this crate does not decode.
pub fn id_name(id: u32) -> &'static str {
    const NAMES: [&str; 42] = [
        "F32",
        "F16",
        "Q4_0",
        "Q4_1",
        "Q4_2",
        "Q4_3",
        "Q5_0",
        "Q5_1",
        "Q8_0",
        "Q8_1",
        "Q2_K",
        "Q3_K",
        "Q4_K",
        "Q5_K",
        "Q6_K",
        "Q8_K",
        "IQ2_XXS",
        "IQ2_XS",
        "IQ3_XXS",
        "IQ1_S",
        "IQ4_NL",
        "IQ3_S",
        "IQ2_S",
        "IQ4_XS",
        "I8",
        "I16",
        "I32",
        "I64",
        "F64",
        "IQ1_M",
        "BF16",
        "Q4_0_4_4",
        "Q4_0_4_8",
        "Q4_0_8_8",
        "TQ1_0",
        "TQ2_0",
        "IQ4_NL_4_4",
        "IQ4_NL_4_8",
        "IQ4_NL_8_8",
        "MXFP4",
        "NVFP4",
        "Q1_0",
    ];
    NAMES.get(id as usize).copied().unwrap_or("unknown")
}
