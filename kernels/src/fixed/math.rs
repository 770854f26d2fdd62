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
    let twice_rem = 2 * i128::from(a.rem_euclid(b));
    match twice_rem.cmp(&i128::from(b)) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
    }
}

/// Fractional bits of [`Exp2Table`] entries.
pub const EXP2_FRAC_BITS: u32 = 30;

/// `2^(-i / 2^index_bits)` for `i` in `0..2^index_bits`, each as `round_half_even(value · 2^30)`.
///
/// `exp(-x)` for `x ≥ 0` in fixed point is `2^-(x·log2 e)`: the integer part of the exponent is a shift and the
/// fraction indexes this table. Built once from `libm::exp2` (pure Rust, IEEE basic operations, the same bits on
/// every platform) and uploaded to GPUs as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exp2Table {
    index_bits: u32,
    entries: Vec<u32>,
}

impl Exp2Table {
    /// A table with `2^index_bits` entries (`index_bits` ≤ 16).
    pub fn new(index_bits: u32) -> Self {
        assert!(index_bits <= 16, "exp2 table too large");
        let n = 1u32 << index_bits;
        let scale = f64::from(1u32 << EXP2_FRAC_BITS);
        let entries = (0..n)
            .map(|i| (libm::exp2(-f64::from(i) / f64::from(n)) * scale).round_ties_even() as u32)
            .collect();
        Self {
            index_bits,
            entries,
        }
    }

    /// The entries, `2^30 · 2^(-i/n)`.
    pub fn entries(&self) -> &[u32] {
        &self.entries
    }

    /// `round(2^30 · 2^(-x / 2^f))` approximately, for `x ≥ 0` in fixed point with `f` fractional bits
    /// (`f ≥ index_bits`): integer part by shift, fraction by the table (truncated to the table's resolution, then
    /// the shift rounds half to even).
    pub fn exp2_neg(&self, x: u64, frac_bits: u32) -> u32 {
        assert!(
            frac_bits >= self.index_bits,
            "exp2_neg: input has fewer fraction bits than the table"
        );
        let whole = x >> frac_bits;
        if whole > u64::from(EXP2_FRAC_BITS) {
            return 0;
        }
        let index = ((x >> (frac_bits - self.index_bits)) & ((1 << self.index_bits) - 1)) as usize;
        super::round::shr(i64::from(self.entries[index]), whole as u32) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn exp2_table_is_pinned_and_accurate() {
        let t = Exp2Table::new(8);
        assert_eq!(t.entries()[0], 1 << 30);
        assert_eq!(t.entries()[128], 759_250_125); // 2^30 / sqrt(2), rounded
        for (i, &e) in t.entries().iter().enumerate() {
            let exact = 2f64.powf(-(i as f64) / 256.0) * f64::from(1u32 << 30);
            assert!((f64::from(e) - exact).abs() <= 0.5, "entry {i}");
        }
        // 2^-1.5 with 10 fraction bits.
        let got = f64::from(t.exp2_neg(1536, 10)) / f64::from(1u32 << 30);
        assert!((got - 2f64.powf(-1.5)).abs() < 1e-8);
        assert_eq!(t.exp2_neg(u64::MAX >> 1, 10), 0);
    }
}
