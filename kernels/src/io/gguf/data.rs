//! Decoded access to tensor data: as `f32`, as Q8_0 blocks, as ternary blocks.

use super::error::{GgufError, Result};
use super::quant::{self, f16_to_f32};
use super::reader::Gguf;
use super::types::{GgmlType, QK_K};

/// One Q8_0 block as stored: 32 signed bytes and their shared scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockQ8_0 {
    /// The scale, IEEE half bits.
    pub d: u16,
    /// The quantized values; value `j` is `qs[j] * d`.
    pub qs: [i8; 32],
}

impl BlockQ8_0 {
    /// The scale as `f32` (exact).
    pub fn scale(&self) -> f32 {
        f16_to_f32(self.d)
    }

    /// The blocks of Q8_0 bytes as stored (34 bytes each: the f16 scale, then 32 signed values); a trailing
    /// partial block is ignored.
    pub fn parse(bytes: &[u8]) -> Vec<Self> {
        bytes
            .chunks_exact(34)
            .map(|b| {
                let mut qs = [0i8; 32];
                for (q, &byte) in qs.iter_mut().zip(&b[2..]) {
                    *q = byte as i8;
                }
                Self {
                    d: u16::from_le_bytes([b[0], b[1]]),
                    qs,
                }
            })
            .collect()
    }
}

/// One TQ1_0 or TQ2_0 block: 256 ternary values and their shared scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TernaryBlock {
    /// The scale, IEEE half bits.
    pub d: u16,
    /// The values in `{-1, 0, 1}`; value `j` is `q[j] * d`.
    pub q: [i8; QK_K],
}

impl TernaryBlock {
    /// The scale as `f32` (exact).
    pub fn scale(&self) -> f32 {
        f16_to_f32(self.d)
    }
}

impl Gguf {
    /// The tensor called `name` as `f32`, row-major with `shape[0]` fastest (ggml's memory order).
    pub fn dequantize(&self, name: &str) -> Result<Vec<f32>> {
        let info = self.tensor(name)?;
        Ok(quant::dequantize(info.ty, self.tensor_bytes(info)))
    }

    /// The Q8_0 blocks of the tensor called `name`, in memory order (each row is `shape[0] / 32` blocks).
    pub fn q8_0_blocks(&self, name: &str) -> Result<Vec<BlockQ8_0>> {
        let info = self.tensor(name)?;
        if info.ty != GgmlType::Q8_0 {
            return Err(GgufError::WrongTensorType {
                tensor: name.to_string(),
                expected: "Q8_0",
                found: info.ty,
            });
        }
        Ok(BlockQ8_0::parse(self.tensor_bytes(info)))
    }

    /// The ternary blocks of a TQ1_0 or TQ2_0 tensor called `name`, in memory order (each row is `shape[0] / 256`
    /// blocks). A TQ2_0 code of 3 (which ggml decodes as `2d`) is an error: the tensor is not ternary.
    pub fn ternary_blocks(&self, name: &str) -> Result<Vec<TernaryBlock>> {
        let info = self.tensor(name)?;
        if !matches!(info.ty, GgmlType::TQ1_0 | GgmlType::TQ2_0) {
            return Err(GgufError::WrongTensorType {
                tensor: name.to_string(),
                expected: "TQ1_0 or TQ2_0",
                found: info.ty,
            });
        }
        let bytes = self.tensor_bytes(info);
        let mut blocks = Vec::with_capacity(bytes.len() / info.ty.block_bytes());
        for (i, b) in bytes.chunks_exact(info.ty.block_bytes()).enumerate() {
            let (codes, d) = quant::ternary_codes(info.ty, b);
            let mut q = [0i8; QK_K];
            for (j, (q, &c)) in q.iter_mut().zip(&codes).enumerate() {
                if c > 2 {
                    return Err(GgufError::NotTernary {
                        tensor: name.to_string(),
                        reason: format!("block {i} element {j} has code {c}"),
                    });
                }
                *q = c as i8 - 1;
            }
            blocks.push(TernaryBlock { d, q });
        }
        Ok(blocks)
    }
}
