//! Fixed-point multipliers: a positive real factor as `m · 2^-s`, applied with one rounding.
//!
//! Rescaling an i32 accumulator by a real factor (a weight scale, `alpha / r`, a learning rate) is
//! `round_half_even(x · m / 2^s)` with a 31-bit `m`. The CPU computes the 63-bit product directly; a 32-bit backend
//! computes it in 16-bit pieces ([`Multiplier::apply_pieces`], the twin a WGSL kernel mirrors). Both are the same
//! exact function, which the tests check.

use super::round;
use thiserror::Error;

/// A real factor that cannot be represented as a multiplier.
#[derive(Debug, Error, PartialEq)]
#[error(
    "scale factor {value} cannot be a fixed-point multiplier: it must be finite and in [2^-31, 2^31)"
)]
pub struct ScaleError {
    /// The factor asked for.
    pub value: f64,
}

/// `value ≈ m · 2^-s`, with `2^30 ≤ m < 2^31` (31 significant bits) and `0 ≤ s ≤ 62`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Multiplier {
    /// Mantissa, `2^30 ≤ m < 2^31`.
    pub m: u32,
    /// Right shift, `0..=62`.
    pub s: u32,
}

impl Multiplier {
    /// The multiplier nearest to `value` (mantissa rounded half to even through IEEE arithmetic, the same on every
    /// platform).
    pub fn from_f64(value: f64) -> Result<Self, ScaleError> {
        if !(value.is_finite() && value > 0.0) {
            return Err(ScaleError { value });
        }
        let (fraction, exp) = libm::frexp(value); // value = fraction · 2^exp, fraction in [0.5, 1)
        let mut m = (fraction * f64::from(1u32 << 31)).round_ties_even() as u64;
        let mut exp = exp;
        if m == 1 << 31 {
            m = 1 << 30;
            exp += 1;
        }
        let s = 31 - exp;
        if !(0..=62).contains(&s) {
            return Err(ScaleError { value });
        }
        Ok(Self {
            m: m as u32,
            s: s as u32,
        })
    }

    /// The real value this multiplier stands for.
    pub fn to_f64(self) -> f64 {
        f64::from(self.m) * libm::exp2(-f64::from(self.s))
    }

    /// `round_half_even(x · m / 2^s)`.
    #[inline]
    pub fn apply(self, x: i32) -> i64 {
        round::shr(i64::from(x) * i64::from(self.m), self.s)
    }

    /// [`Multiplier::apply`] computed with 32-bit operations only, as a WGSL kernel must; saturates to i32.
    pub fn apply_pieces(self, x: i32) -> i32 {
        // Rounding half to even is odd-symmetric, so work on |x| and restore the sign.
        let negative = x < 0;
        let a = x.unsigned_abs();
        let (hi, lo) = mul_u32_wide(a, self.m);
        let r = shr_wide_round_even(hi, lo, self.s);
        let magnitude = match r {
            Some(v) if v <= i32::MAX as u32 => v as i32,
            _ => i32::MAX,
        };
        if negative { -magnitude } else { magnitude }
    }
}

/// The 64-bit product of two u32 as `(high, low)` words, from 16-bit partial products.
fn mul_u32_wide(a: u32, b: u32) -> (u32, u32) {
    let (a0, a1) = (a & 0xffff, a >> 16);
    let (b0, b1) = (b & 0xffff, b >> 16);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let middle = (p00 >> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    let lo = (p00 & 0xffff) | (middle << 16);
    let hi = p11 + (p01 >> 16) + (p10 >> 16) + (middle >> 16);
    (hi, lo)
}

/// `round_half_even((hi·2^32 + lo) / 2^s)` for `s ≤ 62`, or `None` when it does not fit in u32.
fn shr_wide_round_even(hi: u32, lo: u32, s: u32) -> Option<u32> {
    if s == 0 {
        return if hi == 0 { Some(lo) } else { None };
    }
    // floor = (hi:lo) >> s, as (fhi:flo); the remainder compared with half = 2^(s-1).
    let (fhi, flo) = if s >= 32 {
        (0, hi >> (s - 32))
    } else {
        (hi >> s, (lo >> s) | (hi << (32 - s)))
    };
    // Compare the remainder with half without forming it as one word when s > 32.
    let above_half;
    let at_half;
    if s <= 32 {
        let rem = if s == 32 { lo } else { lo & ((1u32 << s) - 1) };
        let half = 1u32 << (s - 1);
        above_half = rem > half;
        at_half = rem == half;
    } else {
        // remainder = (hi mod 2^(s-32)) · 2^32 + lo; half = 2^(s-33) · 2^32.
        let rem_hi = hi & ((1u32 << (s - 32)) - 1);
        let half_hi = 1u32 << (s - 33);
        above_half = rem_hi > half_hi || (rem_hi == half_hi && lo > 0);
        at_half = rem_hi == half_hi && lo == 0;
    }
    if fhi != 0 {
        return None;
    }
    let up = above_half || (at_half && flo & 1 == 1);
    if up { flo.checked_add(1) } else { Some(flo) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Key;

    #[test]
    fn from_f64_keeps_31_significant_bits() {
        let one = Multiplier::from_f64(1.0).unwrap();
        assert_eq!(one, Multiplier { m: 1 << 30, s: 30 });
        assert_eq!(one.apply(12345), 12345);
        let third = Multiplier::from_f64(1.0 / 3.0).unwrap();
        assert!((third.to_f64() - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(third.apply(3), 1);
        assert_eq!(third.apply(-3), -1);
        assert!(Multiplier::from_f64(0.0).is_err());
        assert!(Multiplier::from_f64(f64::NAN).is_err());
        assert!(Multiplier::from_f64(-1.0).is_err());
        assert!(Multiplier::from_f64(1e-30).is_err());
        assert!(Multiplier::from_f64(1e30).is_err());
    }

    #[test]
    fn pieces_equal_the_wide_product() {
        let key = Key(11);
        for i in 0..200_000u32 {
            let x = key.word(i, 0, 0) as i32;
            let x = if i % 3 == 0 {
                x >> (key.word(i, 1, 0) % 31)
            } else {
                x
            };
            let m = (1u32 << 30) | (key.word(i, 2, 0) >> 2);
            let s = key.below(63, i, 3, 0);
            let mul = Multiplier { m, s };
            let wide = round::sat_i32(mul.apply(x));
            assert_eq!(mul.apply_pieces(x), wide, "x={x} m={m} s={s}");
        }
    }

    #[test]
    fn wide_product_and_shift_edges() {
        assert_eq!(mul_u32_wide(u32::MAX, u32::MAX), (u32::MAX - 1, 1));
        assert_eq!(shr_wide_round_even(0, 3, 1), Some(2)); // 1.5 -> 2
        assert_eq!(shr_wide_round_even(0, 5, 1), Some(2)); // 2.5 -> 2
        assert_eq!(shr_wide_round_even(1, 0, 33), Some(0)); // 0.5 -> 0
        assert_eq!(shr_wide_round_even(3, 0, 33), Some(2)); // 1.5 -> 2
        assert_eq!(shr_wide_round_even(1, 0, 0), None);
    }
}
