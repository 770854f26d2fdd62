//! Exact integer functions the nonlinear layers are built from: square root, division, `2^-x`.
//!
//! Each is an exact mathematical function of its inputs (a floor, or a rounding of an exact rational), so any
//! algorithm that computes it (Newton steps, a hardware divide, a table) gives the same bits.

/// `floor(sqrt(n))`.
pub fn isqrt(n: u64) -> u64 {
    n.isqrt()
}

/// `round_half_even(a / b)` for `b > 0`.
pub fn div_round(a: i64, b: i64) -> i64 {
    assert!(b > 0, "div_round: divisor must be positive");
    let q = a.div_euclid(b);
    let rem = a.rem_euclid(b);
    // 2·rem against b, without overflow: 0 ≤ rem < b.
    match rem.cmp(&(b - rem)) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
    }
}

/// [`div_round`] for `0 ≤ a < 2^63` and `0 < b`, with a quotient below `2^52`, without a 64-bit integer divide:
/// an f64 estimate is within one of the exact floor (both operands round by at most half an ulp), and integer
/// remainder checks correct it, so the result is exactly [`div_round`]'s on every platform.
#[inline(always)]
pub fn div_round_small_quotient(a: i64, b: i64) -> i64 {
    debug_assert!(a >= 0 && b > 0, "div_round_small_quotient: {a} / {b}");
    let q = (a as f64 / b as f64) as i64;
    let r = a - q * b;
    // At most one step each way; written as selects so element loops vectorize.
    let low = i64::from(r < 0);
    let (q, r) = (q - low, r + (b & -low));
    let high = i64::from(r >= b);
    let (q, r) = (q + high, r - (b & -high));
    debug_assert!((0..b).contains(&r) && q < 1 << 52);
    let half = b - r;
    q + i64::from((r > half) | ((r == half) & (q & 1 == 1)))
}

/// Fractional bits of [`exp2_neg`]'s input and output.
pub const EXP2_IN_FRAC: u32 = 16;
/// Fractional bits of [`exp2_neg`]'s output: `2^-x` as `round(2^-x · 2^30)`.
pub const EXP2_OUT_FRAC: u32 = 30;

/// The two 256-entry tables of [`exp2_neg`]: `HI[i] = 2^(-i/256)` and `LO[j] = 2^(-j/65536)`, each
/// `round_half_even(value · 2^30)`, built once from `libm::exp2` (pure Rust, IEEE basic operations: the same bits on
/// every platform). A GPU receives them as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exp2Tables {
    /// `2^(-i/256) · 2^30`.
    pub hi: [u32; 256],
    /// `2^(-j/65536) · 2^30`.
    pub lo: [u32; 256],
}

impl Exp2Tables {
    /// Builds the tables.
    pub fn new() -> Self {
        let scale = f64::from(1u32 << EXP2_OUT_FRAC);
        let entry = |x: f64| (libm::exp2(-x) * scale).round_ties_even() as u32;
        Self {
            hi: std::array::from_fn(|i| entry(i as f64 / 256.0)),
            lo: std::array::from_fn(|j| entry(j as f64 / 65536.0)),
        }
    }
}

impl Default for Exp2Tables {
    fn default() -> Self {
        Self::new()
    }
}

/// `2^-x` for `x ≥ 0` given with 16 fractional bits, as a Q.30 integer:
/// `round(round(HI[f_hi] · LO[f_lo] / 2^30) / 2^n)` where `x = n + (f_hi · 256 + f_lo) / 2^16`.
/// Relative error about 2^-29 before the final shift; `exp(-y)` is `2^-(y · log2 e)`.
#[inline(always)]
pub fn exp2_neg(t: &Exp2Tables, x: u64) -> u32 {
    // Without an early exit, so element loops vectorize: from 31 whole units on, the final shift rounds the Q.30
    // fraction (≤ 2^30) to 0.
    let whole = (x >> EXP2_IN_FRAC).min(63) as u32;
    let hi = u64::from(t.hi[((x >> 8) & 0xff) as usize]);
    let lo = u64::from(t.lo[(x & 0xff) as usize]);
    let frac = super::round::shr_var((hi * lo) as i64, EXP2_OUT_FRAC);
    super::round::shr_var(frac, whole) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp2_neg_vanishes_from_31_whole_units() {
        let t = Exp2Tables::new();
        assert_eq!(exp2_neg(&t, 0), 1 << 30);
        assert_eq!(exp2_neg(&t, 1 << 16), 1 << 29);
        assert_eq!(exp2_neg(&t, 30 << 16), 1);
        for x in [31 << 16, (31 << 16) + 12345, 32 << 16, 1 << 40, u64::MAX] {
            assert_eq!(exp2_neg(&t, x), 0, "2^-{x}");
        }
    }

    #[test]
    fn small_quotient_division_is_exact() {
        let key = crate::rng::Key(41);
        for i in 0..200_000u32 {
            let b = i64::from(key.word(i, 0, 0) >> (i % 31)).max(1) + i64::from(i % 3);
            let q = (i64::from(key.word(i, 1, 0)) << 20) >> (i % 60).min(52);
            let Some(a) = q
                .min((1 << 52) - 1)
                .checked_mul(b)
                .and_then(|a| a.checked_add(i64::from(key.word(i, 2, 0)) % b))
            else {
                continue;
            };
            assert_eq!(div_round_small_quotient(a, b), div_round(a, b), "{a} / {b}");
        }
        for (a, b) in [
            (1i64 << 62, (1 << 30) + 1),
            (1 << 62, 1 << 31),
            (5, 2),
            (7, 2),
            (0, 9),
            (3, 6),
        ] {
            assert_eq!(div_round_small_quotient(a, b), div_round(a, b), "{a} / {b}");
        }
    }

    #[test]
    fn isqrt_is_the_floor() {
        for n in [0u64, 1, 2, 3, 4, 15, 16, 17, u64::from(u32::MAX), u64::MAX] {
            let r = isqrt(n);
            assert!(u128::from(r) * u128::from(r) <= u128::from(n));
            assert!(u128::from(r + 1) * u128::from(r + 1) > u128::from(n));
        }
    }

    #[test]
    fn div_round_ties_to_even() {
        assert_eq!(div_round(5, 2), 2);
        assert_eq!(div_round(7, 2), 4);
        assert_eq!(div_round(-5, 2), -2);
        assert_eq!(div_round(-7, 2), -4);
        assert_eq!(div_round(10, 3), 3);
        assert_eq!(div_round(11, 3), 4);
        assert_eq!(div_round(-11, 3), -4);
    }

    #[test]
    fn exp2_is_pinned_and_accurate() {
        let t = Exp2Tables::new();
        assert_eq!(t.hi[0], 1 << 30);
        assert_eq!(t.lo[0], 1 << 30);
        assert_eq!(t.hi[128], 759_250_125); // 2^30 / sqrt(2), rounded
        for x in (0..(20u64 << 16)).step_by(997) {
            let got = f64::from(exp2_neg(&t, x));
            let want = 2f64.powf(-(x as f64) / 65536.0) * f64::from(1u32 << 30);
            assert!(
                (got - want).abs() <= 2.0 + want * 4e-9,
                "2^-{x}/65536: {got} vs {want}"
            );
        }
        assert_eq!(exp2_neg(&t, 31 << 16), 0);
        assert_eq!(exp2_neg(&t, u64::MAX), 0);
        assert_eq!(exp2_neg(&t, 30 << 16), 1);
    }
}
