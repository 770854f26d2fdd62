//! Cross-entropy of next-token logits: the loss (for display) and its gradient (integer, committed).
//!
//! Per row `t` with target `y_t` and mask `w_t ∈ {0, 1}`, over `N = Σ w_t` counted tokens:
//! `dlogits_t = w_t · (softmax(logits_t) − onehot(y_t)) / N`. Softmax as in attention: base-2 scores with 16
//! fractional bits, `E_c = 2^-(max − z_c)` (Q.30), `p_c = round(E_c · 2^30 / Σ E)`. The loss value is computed
//! from the same integers in f64 (`ln Σ E − ln E_y`); it is shown to people and never enters the state.

use super::rows::Rows;
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

/// Loss and gradient of one batch.
#[derive(Debug, Clone)]
pub struct LossOutput {
    /// Mean loss over counted tokens, in nats (display only).
    pub loss: f64,
    /// Number of counted tokens `N`.
    pub tokens: usize,
    /// Gradient with respect to the logits, already divided by `N`.
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

    /// Base-2 scores `z_c = logit_c · log2 e` with 16 fractional bits (saturating far outside any real logit).
    fn scores(&self, row: &[i32], exp: i32) -> Vec<i64> {
        let sh = exp + 16 - self.log2e.s as i32;
        row.iter()
            .map(|&m| {
                let prod = i64::from(m) * i64::from(self.log2e.m);
                if sh > 8 {
                    prod.signum() << 62
                } else {
                    round::shift(prod, sh)
                }
            })
            .collect()
    }

    /// `(E_c, Σ E, max z)` for one row.
    fn exps(&self, z: &[i64]) -> (Vec<i64>, i64) {
        let zmax = *z.iter().max().expect("a row has at least one logit");
        let e: Vec<i64> = z
            .iter()
            .map(|&zc| {
                i64::from(math::exp2_neg(
                    &self.exp2,
                    zmax.saturating_sub(zc).max(0) as u64,
                ))
            })
            .collect();
        let sum = e.iter().sum();
        (e, sum)
    }

    /// Loss and gradient for logits `[rows × vocab]`, one target per row, rows with `mask == 0` not counted.
    pub fn forward_backward(&self, logits: &Rows, targets: &[u32], mask: &[u8]) -> LossOutput {
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
        let mut dlogits = Rows::zeros(logits.rows(), logits.cols);
        if tokens == 0 {
            return LossOutput {
                loss: 0.0,
                tokens,
                dlogits,
            };
        }
        let inv_n = Multiplier::from_f64(1.0 / tokens as f64).expect("1/N is a valid multiplier");
        let mut loss = 0.0f64;
        let mut wide = vec![0i64; logits.cols];
        for r in 0..logits.rows() {
            if mask[r] == 0 {
                continue;
            }
            let target = targets[r] as usize;
            assert!(
                target < logits.cols,
                "cross-entropy: target {target} outside the vocabulary"
            );
            let (e, sum) = self.exps(&self.scores(logits.row(r), logits.exp[r]));
            // -ln p_y = ln Σ E − ln E_y (E_y ≥ 1 unless the target is 32+ bits below the maximum).
            loss += libm::log(sum as f64) - libm::log(e[target].max(1) as f64);
            for (w, &ec) in wide.iter_mut().zip(&e) {
                *w = math::div_round(ec << 30, sum);
            }
            wide[target] -= 1 << 30;
            // (p − y) / N: |p − y| ≤ 2^30 in Q.30, times the 31-bit 1/N multiplier: below 2^61.
            for w in wide.iter_mut() {
                *w *= i64::from(inv_n.m);
            }
            let (m, e) = super::rows::normalize_row(&wide, -30 - inv_n.s as i32);
            dlogits.mant[r * logits.cols..(r + 1) * logits.cols].copy_from_slice(&m);
            dlogits.exp[r] = e;
        }
        LossOutput {
            loss: loss / tokens as f64,
            tokens,
            dlogits,
        }
    }
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
        let out = CrossEntropy::new().forward_backward(&logits, &targets, &mask);
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
            (out.loss - want_loss / 4.0).abs() < 1e-5,
            "{} vs {}",
            out.loss,
            want_loss / 4.0
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
        let out = CrossEntropy::new().forward_backward(&logits, &[1], &[0]);
        assert_eq!((out.loss, out.tokens), (0.0, 0));
        assert!(out.dlogits.mant.iter().all(|&m| m == 0));
    }
}
