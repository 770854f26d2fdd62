//! Block floating point: integer mantissas sharing one power-of-two exponent per block.
//!
//! A block (a token's activation row, a weight row, a group of 32 values) is rescaled by `2^-shift`, where `shift`
//! comes from the block's absolute maximum by bit length (WGSL `firstLeadingBit`), so that every mantissa fits the
//! target width. Because the exponent is a power of two, combining blocks later is a shift, not a multiplication.

use super::round;

/// The right shift that brings a block with absolute maximum `absmax` into `mantissa_bits` magnitude bits
/// (7 for int8, 15 for int16): `max(0, bit_length(absmax) - mantissa_bits)`.
///
/// After rounding, the largest magnitude can reach `2^mantissa_bits`; quantizers saturate that one value.
#[inline]
pub fn block_shift(absmax: u64, mantissa_bits: u32) -> u32 {
    (u64::BITS - absmax.leading_zeros()).saturating_sub(mantissa_bits)
}

/// The largest absolute value of a block (`i32::MIN` counts as `2^31`).
#[inline]
pub fn absmax(values: &[i32]) -> u64 {
    values
        .iter()
        .map(|v| u64::from(v.unsigned_abs()))
        .max()
        .unwrap_or(0)
}

/// Quantizes a block to int8 mantissas in `[-127, 127]`: `out[i] = sat(round_half_even(values[i] / 2^shift))`.
/// Returns `shift`, so `values[i] ≈ out[i] · 2^shift`.
pub fn quantize_i8(values: &[i32], out: &mut [i8]) -> u32 {
    assert_eq!(values.len(), out.len(), "quantize_i8: length mismatch");
    let shift = block_shift(absmax(values), 7);
    for (o, &v) in out.iter_mut().zip(values) {
        *o = round::sat_i8(round::shr(i64::from(v), shift));
    }
    shift
}

/// Quantizes a block to int16 mantissas in `[-32767, 32767]`; returns the shift as [`quantize_i8`] does.
pub fn quantize_i16(values: &[i32], out: &mut [i16]) -> u32 {
    assert_eq!(values.len(), out.len(), "quantize_i16: length mismatch");
    let shift = block_shift(absmax(values), 15);
    for (o, &v) in out.iter_mut().zip(values) {
        *o = round::sat_i16(round::shr(i64::from(v), shift));
    }
    shift
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Key;

    #[test]
    fn shift_comes_from_the_bit_length() {
        assert_eq!(block_shift(0, 7), 0);
        assert_eq!(block_shift(127, 7), 0);
        assert_eq!(block_shift(128, 7), 1);
        assert_eq!(block_shift(255, 7), 1);
        assert_eq!(block_shift(256, 7), 2);
        assert_eq!(block_shift(u64::from(u32::MAX), 15), 17);
    }

    #[test]
    fn mantissas_fit_and_error_is_half_a_step() {
        let key = Key(5);
        for trial in 0..200u32 {
            let magnitude = 1i64 << (trial % 31);
            let values: Vec<i32> = (0..64u32)
                .map(|i| ((i64::from(key.word(trial, i, 0)) % (2 * magnitude)) - magnitude) as i32)
                .collect();
            let mut q = vec![0i8; 64];
            let shift = quantize_i8(&values, &mut q);
            for (&v, &m) in values.iter().zip(&q) {
                assert!((-127..=127).contains(&m));
                let back = i64::from(m) << shift;
                let step = 1i64 << shift;
                // Saturation of the single top value may cost one extra step.
                assert!(
                    (back - i64::from(v)).abs() <= step,
                    "v={v} m={m} shift={shift}"
                );
            }
            let mut q16 = vec![0i16; 64];
            let shift16 = quantize_i16(&values, &mut q16);
            assert_eq!(shift16, shift.saturating_sub(8));
        }
    }

    #[test]
    fn extreme_values() {
        let mut q = [0i8; 3];
        assert_eq!(quantize_i8(&[i32::MIN, 0, i32::MAX], &mut q), 25);
        assert_eq!(q, [-64, 0, 64]);
        assert_eq!(quantize_i8(&[0, 0, 0], &mut q), 0);
        assert_eq!(q, [0, 0, 0]);
    }
}
