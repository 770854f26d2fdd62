//! Block encoding and decoding for every [`GgmlType`], bit-compatible with ggml's reference code.
//!
//! Decoding follows `dequantize_row_*` in ggml: the block scale is an IEEE half widened to `f32`, and each value is
//! one `f32` multiply (Q4_1: multiply then add, unfused). Encoding follows `quantize_row_*_ref` (scale from the
//! block's absolute maximum, round half away from zero), so a quantized block decodes and re-encodes to the same
//! bytes.
//!
//! The ternary layouts, for one block of 256 values `x[0..256]` with codes `c = x/d + 1` in `{0, 1, 2}`:
//! - TQ2_0: byte `qs[32*h + m]` (`h` in 0..2, `m` in 0..32) holds in bits `2n..2n+2` the code of
//!   `x[128*h + 32*n + m]`, `n` in 0..4. A code of 3 decodes to `2d` in ggml; the encoder never writes it.
//! - TQ1_0: five codes per byte as a base-3 number, the first code the most significant digit, stored as
//!   `ceil(number * 256 / 243)` so that digit `n` is recovered as `((byte * 3^n) mod 256) * 3 >> 8`.
//!   `qs[m]` (m in 0..32) holds `x[m + 32n]`, n in 0..5 (values 0..160); `qs[32 + m]` (m in 0..16) holds
//!   `x[160 + m + 16n]` (values 160..240); `qh[j]` (j in 0..4) holds `x[240 + j + 4n]`, n in 0..4, as the four
//!   most significant of its five digits (the lowest digit is 0).

use half::f16;

use super::types::{GgmlType, QK_K};

/// An IEEE half (as stored) widened to `f32`: exact.
pub fn f16_to_f32(bits: u16) -> f32 {
    f16::from_bits(bits).to_f32()
}

/// An `f32` rounded to the nearest IEEE half (ties to even), as ggml's `GGML_FP32_TO_FP16`.
pub fn f32_to_f16(x: f32) -> u16 {
    f16::from_f32(x).to_bits()
}

/// A bfloat16 (as stored) widened to `f32`: exact.
pub fn bf16_to_f32(bits: u16) -> f32 {
    f32::from_bits(u32::from(bits) << 16)
}

/// An `f32` rounded to the nearest bfloat16 (ties to even; NaN stays NaN), as ggml's `GGML_FP32_TO_BF16`.
pub fn f32_to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return ((bits >> 16) | 64) as u16;
    }
    ((bits + (0x7fff + ((bits >> 16) & 1))) >> 16) as u16
}

/// Decodes whole blocks of `ty` from `bytes` (a trailing partial block is ignored) into `f32` values.
pub fn dequantize(ty: GgmlType, bytes: &[u8]) -> Vec<f32> {
    let n_blocks = bytes.len() / ty.block_bytes();
    let mut out = Vec::with_capacity(n_blocks * ty.block_len());
    let blocks = bytes.chunks_exact(ty.block_bytes());
    match ty {
        GgmlType::F32 => out.extend(blocks.map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
        GgmlType::F16 => out.extend(blocks.map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))),
        GgmlType::BF16 => out.extend(blocks.map(|b| bf16_to_f32(u16::from_le_bytes([b[0], b[1]])))),
        GgmlType::I8 => out.extend(blocks.map(|b| f32::from(b[0] as i8))),
        GgmlType::I16 => out.extend(blocks.map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])))),
        GgmlType::I32 => {
            out.extend(blocks.map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32))
        }
        GgmlType::Q4_0 => blocks.for_each(|b| decode_q4(b, &mut out, false)),
        GgmlType::Q4_1 => blocks.for_each(|b| decode_q4(b, &mut out, true)),
        GgmlType::Q8_0 => blocks.for_each(|b| {
            let d = f16_to_f32(u16::from_le_bytes([b[0], b[1]]));
            out.extend(b[2..34].iter().map(|&q| f32::from(q as i8) * d));
        }),
        GgmlType::TQ1_0 | GgmlType::TQ2_0 => blocks.for_each(|b| {
            let (codes, d_bits) = ternary_codes(ty, b);
            let d = f16_to_f32(d_bits);
            out.extend(codes.iter().map(|&c| f32::from(i16::from(c) - 1) * d));
        }),
    }
    out
}

fn decode_q4(b: &[u8], out: &mut Vec<f32>, with_min: bool) {
    let d = f16_to_f32(u16::from_le_bytes([b[0], b[1]]));
    let (m, qs) = if with_min {
        (f16_to_f32(u16::from_le_bytes([b[2], b[3]])), &b[4..20])
    } else {
        (0.0, &b[2..18])
    };
    let offset = if with_min { 0 } else { 8 };
    let value = |nibble: u8| {
        let q = f32::from(i16::from(nibble) - offset);
        if with_min { q * d + m } else { q * d }
    };
    out.extend(qs.iter().map(|&q| value(q & 15)));
    out.extend(qs.iter().map(|&q| value(q >> 4)));
}

/// The 256 codes (0, 1, 2; TQ2_0 may hold 3) of one TQ1_0 or TQ2_0 block in value order, and its f16 scale bits.
///
/// `block` must be one whole block of `ty`; other types or lengths give all-zero codes.
pub fn ternary_codes(ty: GgmlType, block: &[u8]) -> ([u8; QK_K], u16) {
    let mut codes = [0u8; QK_K];
    match (ty, block.len()) {
        (GgmlType::TQ2_0, 66) => {
            for (i, code) in codes.iter_mut().enumerate() {
                let (h, n, m) = (i / 128, (i % 128) / 32, i % 32);
                *code = (block[32 * h + m] >> (2 * n)) & 3;
            }
            (codes, u16::from_le_bytes([block[64], block[65]]))
        }
        (GgmlType::TQ1_0, 54) => {
            const POW3: [u8; 5] = [1, 3, 9, 27, 81];
            let digit =
                |byte: u8, n: usize| ((u16::from(byte.wrapping_mul(POW3[n])) * 3) >> 8) as u8;
            for n in 0..5 {
                for m in 0..32 {
                    codes[32 * n + m] = digit(block[m], n);
                }
                for m in 0..16 {
                    codes[160 + 16 * n + m] = digit(block[32 + m], n);
                }
            }
            for n in 0..4 {
                for j in 0..4 {
                    codes[240 + 4 * n + j] = digit(block[48 + j], n);
                }
            }
            (codes, u16::from_le_bytes([block[52], block[53]]))
        }
        _ => (codes, 0),
    }
}

/// Encodes `values` (a multiple of the block length of `ty`) as blocks of `ty`; `None` if the length is not a
/// multiple of the block length.
///
/// Integer types round half away from zero and saturate; NaN encodes as 0 in integer and ternary codes.
pub fn quantize(ty: GgmlType, values: &[f32]) -> Option<Vec<u8>> {
    if !values.len().is_multiple_of(ty.block_len()) {
        return None;
    }
    let mut out = Vec::with_capacity(values.len() / ty.block_len() * ty.block_bytes());
    match ty {
        GgmlType::F32 => values.iter().for_each(|v| out.extend(v.to_le_bytes())),
        GgmlType::F16 => values
            .iter()
            .for_each(|&v| out.extend(f32_to_f16(v).to_le_bytes())),
        GgmlType::BF16 => values
            .iter()
            .for_each(|&v| out.extend(f32_to_bf16(v).to_le_bytes())),
        GgmlType::I8 => values.iter().for_each(|&v| out.push(v.round() as i8 as u8)),
        GgmlType::I16 => values
            .iter()
            .for_each(|&v| out.extend((v.round() as i16).to_le_bytes())),
        GgmlType::I32 => values
            .iter()
            .for_each(|&v| out.extend((v.round() as i32).to_le_bytes())),
        GgmlType::Q4_0 => values
            .chunks_exact(32)
            .for_each(|x| encode_q4_0(x, &mut out)),
        GgmlType::Q4_1 => values
            .chunks_exact(32)
            .for_each(|x| encode_q4_1(x, &mut out)),
        GgmlType::Q8_0 => values
            .chunks_exact(32)
            .for_each(|x| encode_q8_0(x, &mut out)),
        GgmlType::TQ1_0 => values
            .chunks_exact(QK_K)
            .for_each(|x| encode_tq1_0(x, &mut out)),
        GgmlType::TQ2_0 => values
            .chunks_exact(QK_K)
            .for_each(|x| encode_tq2_0(x, &mut out)),
    }
    Some(out)
}

fn abs_max(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |a, v| a.max(v.abs()))
}

fn inverse(d: f32) -> f32 {
    if d != 0.0 { 1.0 / d } else { 0.0 }
}

fn encode_q8_0(x: &[f32], out: &mut Vec<u8>) {
    let d = abs_max(x) / 127.0;
    let id = inverse(d);
    out.extend(f32_to_f16(d).to_le_bytes());
    out.extend(x.iter().map(|&v| (v * id).round() as i8 as u8));
}

fn encode_q4_0(x: &[f32], out: &mut Vec<u8>) {
    // The value of largest magnitude, with its sign, maps to -8.
    let max = x
        .iter()
        .fold(0.0f32, |m, &v| if v.abs() > m.abs() { v } else { m });
    let d = max / -8.0;
    let id = inverse(d);
    out.extend(f32_to_f16(d).to_le_bytes());
    let q = |v: f32| ((v * id + 8.5) as i8).clamp(0, 15) as u8;
    out.extend((0..16).map(|j| q(x[j]) | (q(x[j + 16]) << 4)));
}

fn encode_q4_1(x: &[f32], out: &mut Vec<u8>) {
    let min = x.iter().fold(f32::INFINITY, |a, &v| a.min(v));
    let max = x.iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v));
    let d = (max - min) / 15.0;
    let id = inverse(d);
    out.extend(f32_to_f16(d).to_le_bytes());
    out.extend(f32_to_f16(min).to_le_bytes());
    let q = |v: f32| (((v - min) * id + 0.5) as i8).clamp(0, 15) as u8;
    out.extend((0..16).map(|j| q(x[j]) | (q(x[j + 16]) << 4)));
}

/// The ternary code (0, 1, 2) of `v` at inverse scale `id`.
fn ternary_code(v: f32, id: f32) -> u8 {
    (((v * id).round() as i32).clamp(-1, 1) + 1) as u8
}

fn encode_tq2_0(x: &[f32], out: &mut Vec<u8>) {
    let d = abs_max(x);
    let id = inverse(d);
    for h in 0..2 {
        for m in 0..32 {
            let byte = (0..4).fold(0u8, |b, n| {
                b | (ternary_code(x[128 * h + 32 * n + m], id) << (2 * n))
            });
            out.push(byte);
        }
    }
    out.extend(f32_to_f16(d).to_le_bytes());
}

fn encode_tq1_0(x: &[f32], out: &mut Vec<u8>) {
    let d = abs_max(x);
    let id = inverse(d);
    // Five digits, first most significant, scaled so each digit is recoverable by a multiply and a shift.
    let pack = |digits: &mut dyn Iterator<Item = u8>| -> u8 {
        let number = digits.fold(0u16, |acc, c| acc * 3 + u16::from(c));
        (number * 256).div_ceil(243) as u8
    };
    for m in 0..32 {
        out.push(pack(&mut (0..5).map(|n| ternary_code(x[m + 32 * n], id))));
    }
    for m in 0..16 {
        out.push(pack(
            &mut (0..5).map(|n| ternary_code(x[160 + m + 16 * n], id)),
        ));
    }
    for j in 0..4 {
        out.push(pack(&mut (0..5).map(|n| {
            if n < 4 {
                ternary_code(x[240 + j + 4 * n], id)
            } else {
                0
            }
        })));
    }
    out.extend(f32_to_f16(d).to_le_bytes());
}
