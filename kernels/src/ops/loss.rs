//! Cross-entropy of next-token logits: the loss (for display) and its gradient (integer, committed).
//!
//! Per row `t` with target `y_t` and mask `w_t ∈ {0, 1}`, over `N = Σ w_t` counted tokens:
//! `dlogits_t = w_t · (softmax(logits_t) − onehot(y_t)) / N`. Softmax as in attention: base-2 scores with 16
//! fractional bits, `E_c = 2^-(max − z_c)` (Q.30), `p_c = round(E_c · R / 2^(L + 1))` with `R = round(2^(31 + L) / Σ E)` for `Σ E` of bit length `L` (so `p` is Q.30). The loss value is computed
//! from the same integers in f64 (`ln Σ E − ln E_y`); it is shown to people and never enters the state.

use super::{
    parallel::map_row_chunks,
    rows::{MANT_BITS, Rows},
};
use crate::cpu::Wide;
use crate::fixed::{
    math::{self, Exp2Tables},
    round,
    scale::Multiplier,
};

/// The cross-entropy loss head.
#[derive(Debug, Clone)]
pub struct CrossEntropy {
    exp2: Exp2Tables,
    log2e: Multiplier,
}

/// Loss and gradient of a block of rows.
#[derive(Debug, Clone)]
pub struct LossOutput {
    /// Sum of the counted rows' losses, in nats (display only).
    pub loss_sum: f64,
    /// Number of counted rows in this block.
    pub tokens: usize,
    /// Gradient with respect to the logits, divided by the batch's total count `N`.
    pub dlogits: Rows,
}

impl Default for CrossEntropy {
    fn default() -> Self {
        Self::new()
    }
}

impl CrossEntropy {
    /// The loss head's constants.
    pub fn new() -> Self {
        Self {
            exp2: Exp2Tables::new(),
            log2e: Multiplier::from_f64(std::f64::consts::LOG2_E)
                .expect("log2 e is a valid multiplier"),
        }
    }

    /// One counted row: writes `(p − onehot(target)) / N` (the 1/N multiplier `inv_n`) into `out` through the
    /// wide scratch `wide`; returns the row's exponent and its loss in nats.
    fn row(
        &self,
        logits: &[i32],
        exp: i32,
        target: usize,
        inv_n: Multiplier,
        wide: &mut [i64],
        out: &mut [i32],
    ) -> (i32, f64) {
        // Base-2 scores z_c = logit_c · log2 e with 16 fractional bits (saturating far outside any real logit).
        let sh = exp + 16 - self.log2e.s as i32;
        for (z, &m) in wide.iter_mut().zip(logits) {
            let prod = i64::from(m) * i64::from(self.log2e.m);
            *z = if sh > 8 {
                prod.signum() << 62
            } else {
                round::shift(prod, sh)
            };
        }
        let zmax = *wide.iter().max().expect("a row has at least one logit");
        let mut sum = 0i64;
        for z in wide.iter_mut() {
            *z = i64::from(math::exp2_neg(
                &self.exp2,
                zmax.saturating_sub(*z).max(0) as u64,
            ));
            sum += *z; // ≥ 2^30 (the maximum), < 2^30 · 2^33 for any vocabulary below 2^33
        }
        // -ln p_y = ln Σ E − ln E_y (E_y ≥ 1 unless the target is 32+ bits below the maximum).
        let loss = libm::log(sum as f64) - libm::log(wide[target].max(1) as f64);
        // p_c = E_c · 2^30 / Σ E through one reciprocal with 31–32 significant bits: R = round(2^(31 + L) / Σ E)
        // for Σ E of bit length L, then p_c = round(E_c · R / 2^(L + 1)).
        let len = 64 - sum.leading_zeros();
        let recip = reciprocal(len, sum); // in [2^31, 2^32]
        for w in wide.iter_mut() {
            *w = round::shr(*w * recip, len + 1);
        }
        wide[target] -= 1 << 30;
        // (p − y) / N: |p − y| ≤ 2^30 in Q.30, times the 31-bit 1/N multiplier: below 2^61.
        for w in wide.iter_mut() {
            *w *= i64::from(inv_n.m);
        }
        let shift = Wide::detected().normalize(wide, MANT_BITS, out);
        (-30 - inv_n.s as i32 + shift as i32, loss)
    }

    /// Loss and gradient for logits `[rows × vocab]` (a block of a batch whose counted rows number `total`), one
    /// target per row, rows with `mask == 0` not counted. Rows run on up to `threads` threads.
    pub fn forward_backward(
        &self,
        logits: &Rows,
        targets: &[u32],
        mask: &[u8],
        total: usize,
        threads: usize,
    ) -> LossOutput {
        assert_eq!(
            targets.len(),
            logits.rows(),
            "cross-entropy: one target per row"
        );
        assert_eq!(
            mask.len(),
            logits.rows(),
            "cross-entropy: one mask value per row"
        );
        let tokens = mask.iter().filter(|&&m| m != 0).count();
        assert!(
            tokens <= total,
            "cross-entropy: a block counts more rows than its batch"
        );
        if tokens == 0 {
            return LossOutput {
                loss_sum: 0.0,
                tokens,
                dlogits: Rows::zeros(logits.rows(), logits.cols),
            };
        }
        let inv_n = Multiplier::from_f64(1.0 / total as f64).expect("1/N is a valid multiplier");
        let cols = logits.cols;
        let parts = map_row_chunks(logits.rows(), threads, |rows| {
            let mut d = Rows::zeros(rows.len(), cols);
            let mut losses = Vec::with_capacity(rows.len());
            let mut wide = vec![0i64; cols];
            for (i, r) in rows.enumerate() {
                if mask[r] == 0 {
                    continue;
                }
                let target = targets[r] as usize;
                assert!(
                    target < cols,
                    "cross-entropy: target {target} outside the vocabulary"
                );
                let (exp, row_loss) = self.row(
                    logits.row(r),
                    logits.exp[r],
                    target,
                    inv_n,
                    &mut wide,
                    d.row_mut(i),
                );
                d.exp[i] = exp;
                losses.push(row_loss);
            }
            (d, losses)
        });
        let (blocks, losses): (Vec<Rows>, Vec<Vec<f64>>) = parts.into_iter().unzip();
        LossOutput {
            // Summed in row order, so the displayed loss does not depend on the thread count either.
            loss_sum: losses.iter().flatten().sum(),
            tokens,
            dlogits: Rows::concat(&blocks),
        }
    }
}

/// `round_half_even(2^(31 + len) / sum)` for a positive `sum` of bit length `len` (once per row, so u128 is fine).
fn reciprocal(len: u32, sum: i64) -> i64 {
    let (num, den) = (1u128 << (31 + len), sum as u128);
    let (q, r) = (num / den, num % den);
    let up = match r.cmp(&(den - r)) {
        std::cmp::Ordering::Less => 0,
        std::cmp::Ordering::Greater => 1,
        std::cmp::Ordering::Equal => q & 1,
    };
    (q + up) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Key;

    #[test]
    fn matches_f64_softmax_cross_entropy() {
        let (rows, vocab) = (5, 300);
        let key = Key(9);
        let values: Vec<f64> = (0..rows * vocab)
            .map(|i| (f64::from(key.word(i as u32, 0, 0)) / f64::from(u32::MAX) - 0.5) * 12.0)
            .collect();
        let logits = Rows::from_f64(vocab, &values);
        let targets = [3u32, 299, 0, 150, 7];
        let mask = [1u8, 1, 0, 1, 1];
        let out = CrossEntropy::new().forward_backward(&logits, &targets, &mask, 4, 2);
        let lf = logits.to_f64();
        let mut want_loss = 0.0;
        let mut want_grad = vec![0.0; rows * vocab];
        for r in 0..rows {
            if mask[r] == 0 {
                continue;
            }
            let row = &lf[r * vocab..(r + 1) * vocab];
            let max = row.iter().cloned().fold(f64::MIN, f64::max);
            let sum: f64 = row.iter().map(|x| (x - max).exp()).sum();
            want_loss += sum.ln() - (row[targets[r] as usize] - max);
            for c in 0..vocab {
                let p = (row[c] - max).exp() / sum;
                want_grad[r * vocab + c] =
                    (p - f64::from(u8::from(c == targets[r] as usize))) / 4.0;
            }
        }
        assert_eq!(out.tokens, 4);
        assert!(
            (out.loss_sum - want_loss).abs() < 4e-5,
            "{} vs {}",
            out.loss_sum,
            want_loss
        );
        let got = out.dlogits.to_f64();
        for (i, (a, b)) in got.iter().zip(&want_grad).enumerate() {
            assert!((a - b).abs() < 1e-6, "dlogits[{i}]: {a} vs {b}");
        }
        assert!(
            got[2 * vocab..3 * vocab].iter().all(|&g| g == 0.0),
            "masked row has no gradient"
        );
        // gradient rows sum to ~0 (softmax minus one-hot)
        let row_sum: f64 = got[..vocab].iter().sum();
        assert!(row_sum.abs() < 1e-6, "{row_sum}");
    }

    #[test]
    fn no_counted_tokens_gives_zero() {
        let logits = Rows::from_f64(3, &[1.0, 2.0, 3.0]);
        let out = CrossEntropy::new().forward_backward(&logits, &[1], &[0], 0, 2);
        assert_eq!((out.loss_sum, out.tokens), (0.0, 0));
        assert!(out.dlogits.mant.iter().all(|&m| m == 0));
    }
}
