//! Causal grouped-query attention, forward and backward, in integers.
//!
//! Attention is a small part of a step next to the projections (for SmolLM2 at 256 tokens, about 4% of the
//! multiply-adds), so it works on the full 23-bit mantissas with exact 64-bit products instead of int8: a dot
//! product of one head (`head_dim ≤ 256`) is below `2^46 · 2^8`. Per query row `i` and head:
//! 1. `dot_ij = Σ q_i · k_j` (exponent `e_qi + e_kj`), normalized to 23 bits;
//! 2. the score in base-2 units with 16 fractional bits, `z_ij = dot_ij · log2(e)/sqrt(head_dim)` (one
//!    [`Multiplier`]), rounded half to even; scores beyond `2^46` saturate;
//! 3. `E_ij = 2^-(max_j z − z_ij)` from [`exp2_neg`](crate::fixed::math::exp2_neg) (Q.30), `S_i = Σ_j E_ij`, `p_ij = round(E_ij · 2^23 / S_i)`;
//! 4. `o_i = Σ_j p_ij · v_j`, each term shifted from `v_j`'s exponent to the largest one among `j ≤ i`.
//!
//! The backward pass recomputes `p` (cheaper than keeping `T² · heads` probabilities for every layer) and uses
//! the same alignment rule: every sum of terms with different exponents is taken at the largest exponent, each
//! term rounded half to even onto it.

use super::{
    parallel::map_indices,
    rows::{MANT_BITS, Rows, normalize_row},
};
use crate::fixed::{
    math::{self, Exp2Tables},
    round,
    scale::Multiplier,
};

/// The shapes and constants of one attention layer.
#[derive(Debug, Clone)]
pub struct Attention {
    n_heads: usize,
    n_kv_heads: usize,
    head_dim: usize,
    exp2: Exp2Tables,
    /// `log2(e) / sqrt(head_dim)`: natural-log scores to base-2 units.
    score_scale: Multiplier,
    /// `1 / sqrt(head_dim)`.
    inv_sqrt_hd: Multiplier,
}

/// Q.16 base-2 scores saturate here.
const Z_CAP: i64 = 1 << 62;

/// One (sequence, head, query) row's attention probabilities, Q.23, for keys `0..=i`.
struct ProbRow {
    p: Vec<i64>,
}

impl Attention {
    /// An attention layer with `n_heads` query heads sharing `n_kv_heads` key/value heads of width `head_dim`.
    pub fn new(n_heads: usize, n_kv_heads: usize, head_dim: usize) -> Self {
        assert!(
            n_kv_heads > 0 && n_heads.is_multiple_of(n_kv_heads),
            "{n_heads} heads cannot share {n_kv_heads} kv heads"
        );
        assert!(
            (1..=256).contains(&head_dim),
            "head width {head_dim} outside 1..=256"
        );
        let hd = head_dim as f64;
        Self {
            n_heads,
            n_kv_heads,
            head_dim,
            exp2: Exp2Tables::new(),
            score_scale: Multiplier::from_f64(std::f64::consts::LOG2_E / hd.sqrt())
                .expect("valid multiplier"),
            inv_sqrt_hd: Multiplier::from_f64(1.0 / hd.sqrt()).expect("valid multiplier"),
        }
    }

    fn kv_head(&self, h: usize) -> usize {
        h / (self.n_heads / self.n_kv_heads)
    }

    fn check(&self, q: &Rows, k: &Rows, v: &Rows, seq_len: usize) {
        assert_eq!(q.cols, self.n_heads * self.head_dim, "attention: q width");
        assert_eq!(
            k.cols,
            self.n_kv_heads * self.head_dim,
            "attention: k width"
        );
        assert_eq!(v.cols, k.cols, "attention: v width");
        assert!(
            seq_len > 0 && q.rows().is_multiple_of(seq_len),
            "attention: rows are not whole sequences"
        );
        assert_eq!(q.rows(), k.rows(), "attention: q and k rows");
        assert_eq!(q.rows(), v.rows(), "attention: q and v rows");
    }

    fn head<'a>(&self, x: &'a Rows, row: usize, head: usize) -> &'a [i32] {
        &x.row(row)[head * self.head_dim..(head + 1) * self.head_dim]
    }

    /// `p_ij` for query row `i` (absolute row `base + i`) of head `h`, keys `base..=base + i`.
    fn probs(&self, q: &Rows, k: &Rows, base: usize, i: usize, h: usize) -> ProbRow {
        let g = self.kv_head(h);
        let qi = self.head(q, base + i, h);
        let mut z = Vec::with_capacity(i + 1);
        for j in 0..=i {
            let kj = self.head(k, base + j, g);
            let dot: i64 = qi
                .iter()
                .zip(kj)
                .map(|(&a, &b)| i64::from(a) * i64::from(b))
                .sum();
            let (d, e) = normalize_scalar(dot, q.exp[base + i] + k.exp[base + j]);
            let prod = d * i64::from(self.score_scale.m); // < 2^54
            let sh = e + 16 - self.score_scale.s as i32;
            z.push(if sh > 8 {
                prod.signum() * Z_CAP
            } else {
                round::shift(prod, sh)
            });
        }
        let zmax = *z.iter().max().expect("at least one key");
        let big_e: Vec<i64> = z
            .iter()
            .map(|&zj| {
                i64::from(math::exp2_neg(
                    &self.exp2,
                    zmax.saturating_sub(zj).max(0) as u64,
                ))
            })
            .collect();
        let sum: i64 = big_e.iter().sum(); // ≥ 2^30: the maximum contributes 2^0
        ProbRow {
            p: big_e
                .iter()
                .map(|&e| math::div_round(e << MANT_BITS, sum))
                .collect(),
        }
    }

    /// Forward: `softmax(q kᵀ / sqrt(head_dim) + causal mask) v` for each head, rows grouped in sequences of
    /// `seq_len` tokens (row `b · seq_len + t` is token `t` of sequence `b`); sequences run on up to `threads`
    /// threads.
    pub fn forward(&self, q: &Rows, k: &Rows, v: &Rows, seq_len: usize, threads: usize) -> Rows {
        self.check(q, k, v, seq_len);
        let parts = map_indices(q.rows() / seq_len, threads, |b| {
            let r = b * seq_len..(b + 1) * seq_len;
            self.forward_serial(
                &q.slice_rows(r.clone()),
                &k.slice_rows(r.clone()),
                &v.slice_rows(r),
                seq_len,
            )
        });
        Rows::concat(&parts)
    }

    /// Backward: `(dq, dk, dv)` from the gradient `d_out` of the forward output, sequences on up to `threads`
    /// threads.
    pub fn backward(
        &self,
        q: &Rows,
        k: &Rows,
        v: &Rows,
        d_out: &Rows,
        seq_len: usize,
        threads: usize,
    ) -> (Rows, Rows, Rows) {
        self.check(q, k, v, seq_len);
        let parts = map_indices(q.rows() / seq_len, threads, |b| {
            let r = b * seq_len..(b + 1) * seq_len;
            let (q, k, v, d) = (
                q.slice_rows(r.clone()),
                k.slice_rows(r.clone()),
                v.slice_rows(r.clone()),
                d_out.slice_rows(r),
            );
            self.backward_serial(&q, &k, &v, &d, seq_len)
        });
        let (mut dq, mut dk, mut dv) = (Vec::new(), Vec::new(), Vec::new());
        for (a, b, c) in parts {
            dq.push(a);
            dk.push(b);
            dv.push(c);
        }
        (Rows::concat(&dq), Rows::concat(&dk), Rows::concat(&dv))
    }

    fn forward_serial(&self, q: &Rows, k: &Rows, v: &Rows, seq_len: usize) -> Rows {
        self.check(q, k, v, seq_len);
        let hd = self.head_dim;
        let mut segments = vec![0i64; q.mant.len()];
        let mut seg_exp = vec![0i32; q.rows() * self.n_heads];
        for base in (0..q.rows()).step_by(seq_len) {
            for i in 0..seq_len {
                let row = base + i;
                let ev_max = (base..=row).map(|j| v.exp[j]).max().expect("nonempty");
                for h in 0..self.n_heads {
                    let g = self.kv_head(h);
                    let p = self.probs(q, k, base, i, h);
                    let out = &mut segments[row * q.cols + h * hd..row * q.cols + (h + 1) * hd];
                    for (j, &pj) in p.p.iter().enumerate() {
                        let shift = (ev_max - v.exp[base + j]) as u32;
                        for (o, &vc) in out.iter_mut().zip(self.head(v, base + j, g)) {
                            *o += round::shr(pj * i64::from(vc), shift);
                        }
                    }
                    seg_exp[row * self.n_heads + h] = ev_max - MANT_BITS as i32;
                }
            }
        }
        from_segments(q.cols, hd, &segments, &seg_exp)
    }

    fn backward_serial(
        &self,
        q: &Rows,
        k: &Rows,
        v: &Rows,
        d_out: &Rows,
        seq_len: usize,
    ) -> (Rows, Rows, Rows) {
        self.check(q, k, v, seq_len);
        assert_eq!(d_out.cols, q.cols, "attention backward: d_out width");
        let hd = self.head_dim;
        let rows = q.rows();
        // dq: one segment per (row, head); dk, dv: sums over query rows and heads, collected as terms.
        let mut dq_seg = vec![0i64; q.mant.len()];
        let mut dq_exp = vec![0i32; rows * self.n_heads];
        let mut dk_terms = TermSums::new(rows * self.n_kv_heads, hd);
        let mut dv_terms = TermSums::new(rows * self.n_kv_heads, hd);
        for base in (0..rows).step_by(seq_len) {
            for i in 0..seq_len {
                let row = base + i;
                let doi = d_out.row(row);
                for h in 0..self.n_heads {
                    let g = self.kv_head(h);
                    let p = self.probs(q, k, base, i, h);
                    let do_h = &doi[h * hd..(h + 1) * hd];
                    // dP_ij = dO_i · v_j, aligned to the row's largest exponent.
                    let dp: Vec<(i64, i32)> = (0..=i)
                        .map(|j| {
                            let dot: i64 = do_h
                                .iter()
                                .zip(self.head(v, base + j, g))
                                .map(|(&a, &b)| i64::from(a) * i64::from(b))
                                .sum();
                            normalize_scalar(dot, d_out.exp[row] + v.exp[base + j])
                        })
                        .collect();
                    let (dp, dp_exp) = align(&dp);
                    // D_i = Σ_j p_ij dP_ij (exponent dp_exp − 23); dS_ij = p_ij (dP_ij − D_i).
                    let d_i: i64 = p.p.iter().zip(&dp).map(|(&a, &b)| a * b).sum();
                    let d_i = round::shr(d_i, MANT_BITS);
                    let ds: Vec<i64> =
                        p.p.iter()
                            .zip(&dp)
                            .map(|(&pj, &dpj)| pj * (dpj - d_i))
                            .collect();
                    let (ds, ds_exp) = normalize_row_i64(&ds, dp_exp - MANT_BITS as i32);
                    // dq_i += Σ_j dS_ij k_j (keys aligned to their largest exponent among j ≤ i).
                    let ek_max = (base..=row).map(|j| k.exp[j]).max().expect("nonempty");
                    let out = &mut dq_seg[row * q.cols + h * hd..row * q.cols + (h + 1) * hd];
                    for (j, &dsj) in ds.iter().enumerate() {
                        let shift = (ek_max - k.exp[base + j]) as u32;
                        for (o, &kc) in out.iter_mut().zip(self.head(k, base + j, g)) {
                            *o += round::shr(dsj * i64::from(kc), shift);
                        }
                    }
                    dq_exp[row * self.n_heads + h] = ds_exp + ek_max;
                    // dk_j += dS_ij q_i; dv_j += p_ij dO_i.
                    for (j, (&dsj, &pj)) in ds.iter().zip(&p.p).enumerate() {
                        let slot = (base + j) * self.n_kv_heads + g;
                        dk_terms.add(slot, dsj, ds_exp + q.exp[row], row, h);
                        dv_terms.add(slot, pj, d_out.exp[row] - MANT_BITS as i32, row, h);
                    }
                }
            }
        }
        let dq = scale_rows(
            &from_segments(q.cols, hd, &dq_seg, &dq_exp),
            self.inv_sqrt_hd,
        );
        let dk = scale_rows(&dk_terms.finish(k.cols, q), self.inv_sqrt_hd);
        let dv = dv_terms.finish(v.cols, d_out);
        (dq, dk, dv)
    }
}

/// `value · 2^exp` with `value` normalized to 23 bits.
fn normalize_scalar(value: i64, exp: i32) -> (i64, i32) {
    let (m, e) = normalize_row(&[value], exp);
    (i64::from(m[0]), e)
}

/// Normalizes a row of wide values to 23 bits (as i64).
fn normalize_row_i64(values: &[i64], exp: i32) -> (Vec<i64>, i32) {
    let (m, e) = normalize_row(values, exp);
    (m.into_iter().map(i64::from).collect(), e)
}

/// Brings 23-bit values with their own exponents to the largest exponent (each rounded half to even).
fn align(values: &[(i64, i32)]) -> (Vec<i64>, i32) {
    let top = values.iter().map(|&(_, e)| e).max().unwrap_or(0);
    (
        values
            .iter()
            .map(|&(m, e)| round::shr(m, (top - e) as u32))
            .collect(),
        top,
    )
}

/// Builds rows from segments (one per head) that carry their own exponents: each segment is normalized to 23
/// bits, then all segments of a row are aligned to the row's largest exponent.
fn from_segments(cols: usize, seg_len: usize, wide: &[i64], seg_exp: &[i32]) -> Rows {
    let n_seg = cols / seg_len;
    let rows = wide.len() / cols;
    let mut out = Rows::zeros(rows, cols);
    for r in 0..rows {
        let mut parts = Vec::with_capacity(n_seg);
        for s in 0..n_seg {
            let at = r * cols + s * seg_len;
            parts.push(normalize_row(
                &wide[at..at + seg_len],
                seg_exp[r * n_seg + s],
            ));
        }
        let top = parts.iter().map(|(_, e)| *e).max().unwrap_or(0);
        for (s, (m, e)) in parts.iter().enumerate() {
            let shift = (top - e) as u32;
            for (o, &v) in out.mant[r * cols + s * seg_len..r * cols + (s + 1) * seg_len]
                .iter_mut()
                .zip(m)
            {
                *o = round::shr(i64::from(v), shift) as i32;
            }
        }
        out.exp[r] = top;
    }
    out
}

/// Multiplies every value by a constant multiplier.
fn scale_rows(x: &Rows, m: Multiplier) -> Rows {
    let wide: Vec<i64> = x
        .mant
        .iter()
        .map(|&v| i64::from(v) * i64::from(m.m))
        .collect();
    let exps: Vec<i32> = x.exp.iter().map(|e| e - m.s as i32).collect();
    Rows::from_wide(x.cols, &wide, &exps)
}

/// Sums of `coef · source[row, head]` terms with per-term exponents, per slot (a (token, kv head) pair). Terms are
/// recorded (not their vectors) until [`TermSums::finish`], which aligns each slot's terms to its largest exponent,
/// so the result does not depend on the order terms were added in.
struct TermSums {
    width: usize,
    terms: Vec<Vec<Term>>,
}

/// One `coef · 2^exp · source[row, head]` term.
struct Term {
    coef: i64,
    exp: i32,
    row: u32,
    head: u32,
}

impl TermSums {
    fn new(slots: usize, width: usize) -> Self {
        Self {
            width,
            terms: (0..slots).map(|_| Vec::new()).collect(),
        }
    }

    fn add(&mut self, slot: usize, coef: i64, exp: i32, row: usize, head: usize) {
        if coef != 0 {
            self.terms[slot].push(Term {
                coef,
                exp,
                row: row as u32,
                head: head as u32,
            });
        }
    }

    /// Rows of `cols` (whole slots), one exponent per row; `source` holds the term vectors (its exponents are
    /// already part of each term's `exp`).
    fn finish(self, cols: usize, source: &Rows) -> Rows {
        let w = self.width;
        let mut wide = vec![0i64; self.terms.len() * w];
        let mut exps = vec![0i32; self.terms.len()];
        for (slot, terms) in self.terms.iter().enumerate() {
            let Some(top) = terms.iter().map(|t| t.exp).max() else {
                continue;
            };
            let out = &mut wide[slot * w..(slot + 1) * w];
            for t in terms {
                let shift = (top - t.exp) as u32;
                let head = t.head as usize;
                let vector = &source.row(t.row as usize)[head * w..(head + 1) * w];
                for (o, &x) in out.iter_mut().zip(vector) {
                    *o += round::shr(t.coef * i64::from(x), shift);
                }
            }
            exps[slot] = top;
        }
        from_segments(cols, w, &wide, &exps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Key;

    struct F64Attention {
        n_heads: usize,
        n_kv: usize,
        hd: usize,
        seq: usize,
    }

    impl F64Attention {
        fn probs(&self, q: &[f64], k: &[f64], b: usize, i: usize, h: usize) -> Vec<f64> {
            let (qc, kc) = (self.n_heads * self.hd, self.n_kv * self.hd);
            let g = h / (self.n_heads / self.n_kv);
            let row = b * self.seq + i;
            let s: Vec<f64> = (0..=i)
                .map(|j| {
                    let col = b * self.seq + j;
                    (0..self.hd)
                        .map(|c| q[row * qc + h * self.hd + c] * k[col * kc + g * self.hd + c])
                        .sum::<f64>()
                        / (self.hd as f64).sqrt()
                })
                .collect();
            let m = s.iter().cloned().fold(f64::MIN, f64::max);
            let e: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
            let sum: f64 = e.iter().sum();
            e.iter().map(|x| x / sum).collect()
        }

        fn forward(&self, q: &[f64], k: &[f64], v: &[f64], batch: usize) -> Vec<f64> {
            let (qc, kc) = (self.n_heads * self.hd, self.n_kv * self.hd);
            let mut out = vec![0.0; batch * self.seq * qc];
            for b in 0..batch {
                for i in 0..self.seq {
                    for h in 0..self.n_heads {
                        let g = h / (self.n_heads / self.n_kv);
                        for (j, p) in self.probs(q, k, b, i, h).iter().enumerate() {
                            for c in 0..self.hd {
                                out[(b * self.seq + i) * qc + h * self.hd + c] +=
                                    p * v[(b * self.seq + j) * kc + g * self.hd + c];
                            }
                        }
                    }
                }
            }
            out
        }

        /// Gradients by central differences of `L = Σ forward ⊙ d_out`, one coordinate at a time.
        fn numeric_grad(
            &self,
            which: usize,
            inputs: [&[f64]; 3],
            d_out: &[f64],
            batch: usize,
        ) -> Vec<f64> {
            let mut x = inputs[which].to_vec();
            let mut grad = vec![0.0; x.len()];
            let loss = |x: &[f64]| {
                let mut args = [inputs[0].to_vec(), inputs[1].to_vec(), inputs[2].to_vec()];
                args[which] = x.to_vec();
                self.forward(&args[0], &args[1], &args[2], batch)
                    .iter()
                    .zip(d_out)
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
            };
            let eps = 1e-5;
            for i in 0..x.len() {
                let orig = x[i];
                x[i] = orig + eps;
                let up = loss(&x);
                x[i] = orig - eps;
                let down = loss(&x);
                x[i] = orig;
                grad[i] = (up - down) / (2.0 * eps);
            }
            grad
        }
    }

    fn sample(key: Key, n: usize, scale: f64) -> Vec<f64> {
        (0..n)
            .map(|i| {
                (f64::from(key.word(i as u32, 0, 0)) / f64::from(u32::MAX) * 2.0 - 1.0) * scale
            })
            .collect()
    }

    fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            assert!(
                (a - b).abs() <= tol * scale,
                "{what}[{i}]: {a} vs {b} (scale {scale})"
            );
        }
    }

    #[test]
    fn forward_and_backward_match_f64() {
        let (n_heads, n_kv, hd, seq, batch) = (4, 2, 8, 6, 2);
        let attn = Attention::new(n_heads, n_kv, hd);
        let reference = F64Attention {
            n_heads,
            n_kv,
            hd,
            seq,
        };
        let q = Rows::from_f64(
            n_heads * hd,
            &sample(Key(1), batch * seq * n_heads * hd, 2.0),
        );
        let k = Rows::from_f64(n_kv * hd, &sample(Key(2), batch * seq * n_kv * hd, 2.0));
        let v = Rows::from_f64(n_kv * hd, &sample(Key(3), batch * seq * n_kv * hd, 1.0));
        let d_out = Rows::from_f64(
            n_heads * hd,
            &sample(Key(4), batch * seq * n_heads * hd, 1e-3),
        );
        let (qf, kf, vf, df) = (q.to_f64(), k.to_f64(), v.to_f64(), d_out.to_f64());
        let out = attn.forward(&q, &k, &v, seq, 2).to_f64();
        assert_close(&out, &reference.forward(&qf, &kf, &vf, batch), 1e-5, "out");
        let (dq, dk, dv) = attn.backward(&q, &k, &v, &d_out, seq, 3);
        for (which, got, name) in [(0, dq, "dq"), (1, dk, "dk"), (2, dv, "dv")] {
            let want = reference.numeric_grad(which, [&qf, &kf, &vf], &df, batch);
            assert_close(&got.to_f64(), &want, 1e-4, name);
        }
    }

    #[test]
    fn first_token_attends_only_to_itself() {
        let attn = Attention::new(1, 1, 4);
        let q = Rows::from_f64(4, &[1.0, 2.0, 3.0, 4.0, 100.0, 0.0, 0.0, 0.0]);
        let k = Rows::from_f64(4, &[0.5, 0.5, 0.5, 0.5, 50.0, 0.0, 0.0, 0.0]);
        let v = Rows::from_f64(4, &[1.0, -1.0, 2.0, -2.0, 9.0, 9.0, 9.0, 9.0]);
        let out = attn.forward(&q, &k, &v, 2, 1).to_f64();
        assert_eq!(&out[..4], &[1.0, -1.0, 2.0, -2.0]);
        // token 1's score on itself is 5000/2 higher than on token 0: all weight on itself
        assert_eq!(&out[4..], &[9.0, 9.0, 9.0, 9.0]);
    }
}
