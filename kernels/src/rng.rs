//! Counter-based random words.
//!
//! Every random choice a training run makes (LoRA initialisation, data order, stochastic rounding) is a pure
//! function of a [`Key`] and a counter, never the state of a generator. Two consequences matter for Tern: a
//! verifier re-running steps `j*k .. (j+1)*k` needs no generator state from earlier steps, and a GPU thread can
//! compute its own word from its indices. The mixing uses 32-bit operations only (wrapping multiply, xor, shift),
//! so WGSL, which has no portable 64-bit integers, computes the same words.
//!
//! The mixer is Chris Wellons' `triple32` integer hash (a bijection on `u32` with very low bias); a counter of up to
//! three words is folded in one word at a time.

use sha2::{Digest, Sha256};

/// A 32-bit stream key: one per purpose (`"lora-init"`, `"data-order"`, `"rounding"`, …) and job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(pub u32);

impl Key {
    /// Derives the key for one purpose of one job: the first four bytes (little-endian) of
    /// `sha256("tern/key/v1" || len(purpose) as u8 || purpose || job_id || seed as u64 LE)`.
    ///
    /// Binding the job id means two jobs never share a random stream, so a trace cannot be copied from another job
    /// (DESIGN.md §3.1). Purposes longer than 255 bytes are a programming error.
    pub fn derive(job_id: &[u8; 32], purpose: &str, seed: u64) -> Self {
        let len = u8::try_from(purpose.len()).expect("purpose names are short");
        let digest = Sha256::new()
            .chain_update(b"tern/key/v1")
            .chain_update([len])
            .chain_update(purpose.as_bytes())
            .chain_update(job_id)
            .chain_update(seed.to_le_bytes())
            .finalize();
        Self(u32::from_le_bytes([
            digest[0], digest[1], digest[2], digest[3],
        ]))
    }

    /// The random word at counter `(a, b, c)`.
    #[inline]
    pub fn word(self, a: u32, b: u32, c: u32) -> u32 {
        let mut h = mix32(self.0 ^ 0x9e37_79b9);
        h = mix32(h ^ a);
        h = mix32(h.wrapping_add(b));
        mix32(h ^ c.rotate_left(16))
    }

    /// A uniform integer in `0..n` (`n > 0`) from the word at `(a, b, c)`, by Lemire's multiply-high, computed in
    /// 16-bit halves so a 32-bit-only backend gets the same value.
    #[inline]
    pub fn below(self, n: u32, a: u32, b: u32, c: u32) -> u32 {
        mul_hi_u32(self.word(a, b, c), n)
    }

    /// A deterministic permutation of `0..n` (Fisher–Yates with [`Key::below`], stream `a`).
    pub fn permutation(self, n: u32, a: u32) -> Vec<u32> {
        let mut order: Vec<u32> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.below(i + 1, a, i, 0);
            order.swap(i as usize, j as usize);
        }
        order
    }
}

/// `triple32`: a bijective 32-bit mixer with three multiply-xorshift rounds.
#[inline]
pub fn mix32(mut x: u32) -> u32 {
    x ^= x >> 17;
    x = x.wrapping_mul(0xed5a_d4bb);
    x ^= x >> 11;
    x = x.wrapping_mul(0xac4c_1b51);
    x ^= x >> 15;
    x = x.wrapping_mul(0x3184_8bab);
    x ^= x >> 14;
    x
}

/// The high 32 bits of the 64-bit product `a * b`, from four 16-bit partial products (what WGSL must do).
#[inline]
pub fn mul_hi_u32(a: u32, b: u32) -> u32 {
    let (a_lo, a_hi) = (a & 0xffff, a >> 16);
    let (b_lo, b_hi) = (b & 0xffff, b >> 16);
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_hi = a_hi * b_hi;
    let cross = (lo_lo >> 16) + (hi_lo & 0xffff) + (lo_hi & 0xffff);
    hi_hi + (hi_lo >> 16) + (lo_hi >> 16) + (cross >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul_hi_matches_64_bit_product() {
        let key = Key(7);
        for i in 0..10_000 {
            let a = key.word(i, 0, 0);
            let b = key.word(i, 1, 0);
            assert_eq!(
                mul_hi_u32(a, b),
                ((u64::from(a) * u64::from(b)) >> 32) as u32,
                "{a} * {b}"
            );
        }
        assert_eq!(mul_hi_u32(u32::MAX, u32::MAX), u32::MAX - 1);
    }

    const PIN_MIX1: u32 = 69_681_622;
    const PIN_WORD0: u32 = 4_024_642_630;
    const PIN_WORD1: u32 = 30_959_382;
    const PIN_KEY: u32 = 3_333_805_571;

    #[test]
    fn words_are_pinned() {
        // Changing the mixer changes every trace: these values are part of the protocol.
        assert_eq!(mix32(0), 0);
        assert_eq!(mix32(1), PIN_MIX1);
        assert_eq!(Key(0).word(0, 0, 0), PIN_WORD0);
        assert_eq!(Key(0x1234_5678).word(1, 2, 3), PIN_WORD1);
        assert_eq!(Key::derive(&[0u8; 32], "data-order", 42).0, PIN_KEY);
        let key = Key::derive(&[0u8; 32], "data-order", 42);
        assert_eq!(key, Key::derive(&[0u8; 32], "data-order", 42));
        assert_ne!(key, Key::derive(&[1u8; 32], "data-order", 42));
        assert_ne!(key, Key::derive(&[0u8; 32], "lora-init", 42));
        assert_ne!(key, Key::derive(&[0u8; 32], "data-order", 43));
    }

    #[test]
    fn below_is_roughly_uniform_and_in_range() {
        let key = Key(0xdead_beef);
        let mut counts = [0u32; 10];
        for i in 0..100_000 {
            let v = key.below(10, i, 3, 9);
            counts[v as usize] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn permutation_is_a_permutation_and_depends_on_the_key() {
        let p = Key(1).permutation(1000, 0);
        let mut sorted = p.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
        assert_ne!(p, Key(2).permutation(1000, 0));
        assert_ne!(p, Key(1).permutation(1000, 1));
        assert_eq!(p, Key(1).permutation(1000, 0));
    }
}
