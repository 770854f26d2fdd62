//! The rounding rule: round half to even, on shifts and on every rescaling.
//!
//! Half-to-even rather than half-up because it has no bias: training sums millions of rounded values, and a
//! systematic half-ulp drift shows up in the loss.

/// `round_half_even(x / 2^s)`; any `s` (from 64 on the result is 0, since `|x| / 2^64 ≤ 1/2` and a tie goes to
/// the even 0).
#[inline]
pub fn shr(x: i64, s: u32) -> i64 {
    if s == 0 {
        return x;
    }
    if s >= 64 {
        return 0;
    }
    let floor = x >> s;
    let rem = (x as u64) & ((1u64 << s) - 1);
    let half = 1u64 << (s - 1);
    // Up when rem > half, or rem == half and floor is odd: one comparison, no branch (so loops vectorize).
    // In u64, `rem + 1` cannot overflow even for s = 63.
    floor + i64::from(rem + (floor & 1) as u64 > half)
}

/// [`shr`] for `s` in `0..=63`, written without branches so loops over elements with different shifts vectorize:
/// up when `2·rem > 2^s`, or `2·rem = 2^s` and the floor is odd.
#[inline(always)]
pub fn shr_var(x: i64, s: u32) -> i64 {
    debug_assert!(s < 64, "shift {s} out of range");
    let floor = x >> s;
    let twice_rem = ((x as u64) & ((1u64 << s) - 1)) << 1;
    let unit = 1u64 << s;
    floor + i64::from((twice_rem > unit) | ((twice_rem == unit) & (floor & 1 == 1)))
}

/// [`shr`] on 32-bit values, for `s` in `0..=31`: what a GPU kernel computes with 32-bit operations only.
#[inline]
pub fn shr_i32(x: i32, s: u32) -> i32 {
    debug_assert!(s < 32, "shift {s} out of range");
    if s == 0 {
        return x;
    }
    let floor = x >> s;
    let rem = x & ((1u32 << s) - 1) as i32;
    let half = 1i32 << (s - 1);
    // As in `shr`, compared in u32 (rem + 1 ≤ 2^31); `floor + 1` cannot overflow (floor ≤ i32::MAX >> 1).
    floor + i32::from(rem as u32 + (floor & 1) as u32 > half as u32)
}

/// `x · 2^s` (`s ≥ 0`; the caller guarantees it fits) or `round_half_even(x / 2^-s)` (`s < 0`): a shift in either
/// direction.
#[inline]
pub fn shift(x: i64, s: i32) -> i64 {
    if s >= 0 {
        x << s
    } else {
        shr(x, s.unsigned_abs())
    }
}

/// [`shr`] on 128-bit values (`s ≤ 126`): for exact products of a wide accumulator and a 31-bit multiplier that
/// are rounded before they are summed. A 32-bit backend computes it on four words, as [`shr`] on two.
#[inline]
pub fn shr_i128(x: i128, s: u32) -> i128 {
    if s == 0 {
        return x;
    }
    let floor = x >> s;
    let rem = x & ((1i128 << s) - 1);
    let half = 1i128 << (s - 1);
    floor + i128::from(rem + (floor & 1) > half)
}

/// Clamps to the symmetric int8 range `[-127, 127]`: int8 mantissas never take -128, so negation and the
/// `u8 = w + 1` SIMD tricks stay exact.
#[inline]
pub fn sat_i8(x: i64) -> i8 {
    x.clamp(-127, 127) as i8
}

/// Clamps to the symmetric int16 range `[-32767, 32767]`.
#[inline]
pub fn sat_i16(x: i64) -> i16 {
    x.clamp(-32767, 32767) as i16
}

/// Clamps to `[-(2^31 - 1), 2^31 - 1]`.
#[inline]
pub fn sat_i32(x: i64) -> i32 {
    x.clamp(-(i32::MAX as i64), i32::MAX as i64) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, on exact rationals: nearest integer to x / 2^s, ties to even.
    fn reference(x: i64, s: u32) -> i64 {
        let d = 1i128 << s;
        let x = i128::from(x);
        let floor = x.div_euclid(d);
        let twice_rem = 2 * x.rem_euclid(d);
        let r = match twice_rem.cmp(&d) {
            std::cmp::Ordering::Less => floor,
            std::cmp::Ordering::Greater => floor + 1,
            std::cmp::Ordering::Equal => floor + (floor & 1),
        };
        r as i64
    }

    #[test]
    fn ties_go_to_even() {
        assert_eq!(shr(5, 1), 2); // 2.5
        assert_eq!(shr(7, 1), 4); // 3.5
        assert_eq!(shr(-5, 1), -2); // -2.5
        assert_eq!(shr(-7, 1), -4); // -3.5
        assert_eq!(shr(6, 2), 2); // 1.5
        assert_eq!(shr(-6, 2), -2); // -1.5
        assert_eq!(shr(10, 2), 2); // 2.5
        assert_eq!(shr(11, 2), 3); // 2.75
        assert_eq!(shr(-11, 2), -3);
        assert_eq!(shr(9, 2), 2); // 2.25
    }

    #[test]
    fn matches_the_exact_definition() {
        let key = crate::rng::Key(3);
        for i in 0..50_000u32 {
            let x = (i64::from(key.word(i, 0, 0)) << 16 | i64::from(key.word(i, 1, 0) >> 16))
                - (1 << 47);
            let s = key.below(48, i, 2, 0);
            assert_eq!(shr(x, 64 + s), 0);
            assert_eq!(shr(x, 63), reference(x, 63), "{x} >> 63");
            assert_eq!(shr_var(x, s), reference(x, s), "{x} >> {s} (var)");
            assert_eq!(shr_var(x, 63), reference(x, 63), "{x} >> 63 (var)");
            assert_eq!(shr(x, s), reference(x, s), "{x} >> {s}");
            assert_eq!(shr_i128(i128::from(x), s), i128::from(reference(x, s)));
            assert_eq!(
                shr_i128(i128::from(x) << 40, s + 40),
                i128::from(reference(x, s)),
                "a wide value rounds as its narrow twin"
            );
            let x32 = key.word(i, 3, 0) as i32;
            let s32 = key.below(32, i, 4, 0);
            assert_eq!(
                i64::from(shr_i32(x32, s32)),
                reference(i64::from(x32), s32),
                "{x32} >> {s32}"
            );
        }
        for x in [i32::MIN, i32::MIN + 1, -1, 0, 1, i32::MAX] {
            for s in 0..32 {
                assert_eq!(
                    i64::from(shr_i32(x, s)),
                    reference(i64::from(x), s),
                    "{x} >> {s}"
                );
            }
        }
    }

    #[test]
    fn saturation_is_symmetric() {
        assert_eq!(sat_i8(-128), -127);
        assert_eq!(sat_i8(1000), 127);
        assert_eq!(sat_i8(-5), -5);
        assert_eq!(sat_i16(-40_000), -32767);
        assert_eq!(sat_i32(i64::MIN), -i32::MAX);
        assert_eq!(shift(3, 4), 48);
        assert_eq!(shift(48, -5), 2); // 1.5 -> 2
    }
}
