//! Causal grouped-query attention, forward and backward, in integers.
//!
//! Attention works on the full 23-bit mantissas with exact 64-bit sums instead of int8: its products are a small
//! part of a step's multiply-adds, and softmax is sensitive to score error. Every sum is an exact integer dot
//! product of operands that were rounded once onto a shared exponent, so the sums need no rounding of their own
//! and map onto the wide kernels ([`Wide`]) and onto GPU tiles in any order.
//!
//! Per sequence, `k`, `v` (and in the backward pass `q` and the output gradient) are aligned to one exponent: the
//! largest row exponent among the sequence's non-zero rows, each row shifted right onto it, rounded half to even.
//! Then, per query row `i` and head:
//! 1. `dot_ij = Σ q'_i · k_j` with `q' = q · log2(e)/sqrt(head_dim)` (one [`Multiplier`], applied per row);
//! 2. the base-2 score with 16 fractional bits, `z_ij = dot_ij · 2^(e_q'i + E_k + 16)`, rounded half to even,
//!    saturating at `±2^62`;
//! 3. `E_ij = 2^-(max_j z − z_ij)` from [`exp2_neg`](crate::fixed::math::exp2_neg) (Q.30), `S_i = Σ_j E_ij`,
//!    `R_i = round(2^62 / S_i)`, `p_ij = round(E_ij · R_i / 2^39)` (Q.23);
//! 4. `o_i = Σ_j p_ij · v_j` (exponent `E_v − 23`).
//!
//! The backward pass recomputes `p` (cheaper than keeping `T² · heads` probabilities for every layer):
//! `dP_ij = dO_i · v_j`, normalized to 23 bits per row; `D_i = round(Σ_j p_ij dP_ij / 2^23)`;
//! `dS_ij = p_ij (dP_ij − D_i)`, normalized to 23 bits per row; `dq_i = Σ_j dS_ij k_j / sqrt(head_dim)`;
//! `dk_j = Σ_i dS_ij q_i / sqrt(head_dim)` and `dv_j = Σ_i p_ij dO_i`, summed over the heads sharing the kv head,
//! with `dS` aligned to one exponent per (sequence, kv head) first. Each output segment (one row, one head) is
//! normalized to 23 bits and the segments of a row are aligned to the row's largest exponent.
//!
//! Work is split over threads by (sequence, kv head); each piece is computed whole by one thread.

use std::ops::Range;

use super::{
    parallel::map_indices,
    rows::{MANT_BITS, Rows, normalize_row},
};
use crate::cpu::{Cpu, SimdJob, Wide};
use crate::fixed::{
    bfp,
    math::{self, Exp2Tables},
    round,
    scale::Multiplier,
};

/// The longest sequence: the wide sums (`2^46` per product, over `heads per kv head × seq_len` terms) must stay
/// below `2^63`.
pub const MAX_SEQ_LEN: usize = 1 << 14;

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

/// One head's slice of a sequence's rows, `seq_len × head_dim`, on one shared exponent, also transposed
/// (`head_dim × seq_len`) so a query's products with every key are one gather.
struct Aligned {
    mant: Vec<i32>,
    transposed: Vec<i32>,
    exp: i32,
}

/// One (sequence, head) piece of an output: wide values `seq_len × head_dim` and one exponent per row.
struct Segment {
    head: usize,
    wide: Vec<i64>,
    exp: Vec<i32>,
}

/// The backward pass's pieces for one (sequence, kv head).
struct BackwardPiece {
    dq: Vec<Segment>,
    dk: Segment,
    dv: Segment,
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
        assert!(n_heads / n_kv_heads <= 64, "more than 64 heads per kv head");
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

    /// The query heads that share kv head `g`.
    fn heads_of(&self, g: usize) -> Range<usize> {
        let per = self.n_heads / self.n_kv_heads;
        g * per..(g + 1) * per
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
            (1..=MAX_SEQ_LEN).contains(&seq_len) && q.rows().is_multiple_of(seq_len),
            "attention: rows are not whole sequences of at most {MAX_SEQ_LEN} tokens"
        );
        assert_eq!(q.rows(), k.rows(), "attention: q and k rows");
        assert_eq!(q.rows(), v.rows(), "attention: q and v rows");
    }

    /// The (sequence, kv head) pieces of `rows` rows: `(row range, kv head)`.
    fn pieces(&self, rows: usize, seq_len: usize) -> Vec<(Range<usize>, usize)> {
        (0..rows / seq_len)
            .flat_map(|b| (0..self.n_kv_heads).map(move |g| (b * seq_len..(b + 1) * seq_len, g)))
            .collect()
    }

    /// The probabilities of one query (a head's slice of a row of scaled `q`, at exponent `q_exp`) over keys
    /// `0..p.len()` of its sequence, into `p`; `z` is scratch of the same length.
    #[inline(always)]
    fn probs_row(
        &self,
        wide: Wide,
        query: &[i32],
        q_exp: i32,
        keys: &Aligned,
        z: &mut [i64],
        p: &mut [i32],
    ) {
        let t = keys.mant.len() / self.head_dim;
        z.fill(0);
        wide.gather(z, query, &keys.transposed, t);
        // Base-2 Q.16 scores: one shift for the row, saturating at ±2^62 (written as selects, for the vectorizer).
        let shift = q_exp + keys.exp + 16;
        if shift <= 0 {
            let right = shift.unsigned_abs().min(63);
            for zj in z.iter_mut() {
                *zj = round::shr_var(*zj, right);
            }
        } else {
            let limit = if shift >= 62 { 0 } else { 1u64 << (62 - shift) };
            let left = (shift as u32).min(63);
            for zj in z.iter_mut() {
                let saturated = zj.unsigned_abs() >= limit;
                *zj = if saturated {
                    zj.signum() * Z_CAP
                } else {
                    zj.wrapping_shl(left)
                };
            }
        }
        let zmax = *z.iter().max().expect("at least one key");
        let mut sum = 0i64;
        for zj in z.iter_mut() {
            let e = i64::from(math::exp2_neg(
                &self.exp2,
                zmax.saturating_sub(*zj).max(0) as u64,
            ));
            *zj = e;
            sum += e; // ≥ 2^30: the maximum contributes 2^0
        }
        let recip = math::div_round(1 << 62, sum); // ≤ 2^32
        for (pj, &e) in p.iter_mut().zip(z.iter()) {
            *pj = round::shr(e * recip, 39) as i32; // ≤ 2^23
        }
    }

    /// Forward: `softmax(q kᵀ / sqrt(head_dim) + causal mask) v` for each head, rows grouped in sequences of
    /// `seq_len` tokens (row `b · seq_len + t` is token `t` of sequence `b`).
    pub fn forward(&self, q: &Rows, k: &Rows, v: &Rows, seq_len: usize, cpu: &Cpu) -> Rows {
        self.check(q, k, v, seq_len);
        let q_scaled = q.scale(self.score_scale);
        let wide = cpu.wide();
        let pieces = self.pieces(q.rows(), seq_len);
        let parts = map_indices(pieces.len(), cpu.threads(), |i| {
            let (rows, g) = pieces[i].clone();
            wide.run(ForwardPiece {
                attention: self,
                wide,
                q_scaled: &q_scaled,
                k,
                v,
                rows,
                g,
            })
        });
        let segments: Vec<(Range<usize>, Segment)> = pieces
            .into_iter()
            .zip(parts)
            .flat_map(|((rows, _), segs)| segs.into_iter().map(move |s| (rows.clone(), s)))
            .collect();
        self.assemble(q.rows(), self.n_heads, segments)
    }

    #[inline(always)]
    fn forward_piece(
        &self,
        wide: Wide,
        q_scaled: &Rows,
        k: &Rows,
        v: &Rows,
        rows: Range<usize>,
        g: usize,
    ) -> Vec<Segment> {
        let (t, hd) = (rows.len(), self.head_dim);
        let keys = aligned(k, rows.clone(), g, hd);
        let values = aligned(v, rows.clone(), g, hd);
        let mut z = vec![0i64; t];
        let mut p = vec![0i32; t];
        self.heads_of(g)
            .map(|h| {
                let mut out = vec![0i64; t * hd];
                for i in 0..t {
                    let row = rows.start + i;
                    self.probs_row(
                        wide,
                        &q_scaled.row(row)[h * hd..(h + 1) * hd],
                        q_scaled.exp[row],
                        &keys,
                        &mut z[..=i],
                        &mut p[..=i],
                    );
                    wide.gather(
                        &mut out[i * hd..(i + 1) * hd],
                        &p[..=i],
                        &values.mant[..(i + 1) * hd],
                        hd,
                    );
                }
                Segment {
                    head: h,
                    wide: out,
                    exp: vec![values.exp - MANT_BITS as i32; t],
                }
            })
            .collect()
    }

    /// Backward: `(dq, dk, dv)` from the gradient `d_out` of the forward output.
    pub fn backward(
        &self,
        q: &Rows,
        k: &Rows,
        v: &Rows,
        d_out: &Rows,
        seq_len: usize,
        cpu: &Cpu,
    ) -> (Rows, Rows, Rows) {
        self.check(q, k, v, seq_len);
        assert_eq!(
            (d_out.rows(), d_out.cols),
            (q.rows(), q.cols),
            "attention backward: d_out shape"
        );
        let q_scaled = q.scale(self.score_scale);
        let wide = cpu.wide();
        let pieces = self.pieces(q.rows(), seq_len);
        let parts = map_indices(pieces.len(), cpu.threads(), |i| {
            let (rows, g) = pieces[i].clone();
            wide.run(BackwardPieceJob {
                attention: self,
                wide,
                q,
                q_scaled: &q_scaled,
                k,
                v,
                d_out,
                rows,
                g,
            })
        });
        let (mut dq, mut dk, mut dv) = (Vec::new(), Vec::new(), Vec::new());
        for ((rows, _), piece) in pieces.into_iter().zip(parts) {
            dq.extend(piece.dq.into_iter().map(|s| (rows.clone(), s)));
            dk.push((rows.clone(), piece.dk));
            dv.push((rows, piece.dv));
        }
        let rows = q.rows();
        (
            self.assemble(rows, self.n_heads, dq)
                .scale(self.inv_sqrt_hd),
            self.assemble(rows, self.n_kv_heads, dk)
                .scale(self.inv_sqrt_hd),
            self.assemble(rows, self.n_kv_heads, dv),
        )
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn backward_piece(
        &self,
        wide: Wide,
        q: &Rows,
        q_scaled: &Rows,
        k: &Rows,
        v: &Rows,
        d_out: &Rows,
        rows: Range<usize>,
        g: usize,
    ) -> BackwardPiece {
        let (t, hd) = (rows.len(), self.head_dim);
        let keys = aligned(k, rows.clone(), g, hd);
        let values = aligned(v, rows.clone(), g, hd);
        let (mut z, mut p, mut dp) = (vec![0i64; t], vec![0i32; t], vec![0i64; t]);
        let mut ds_wide = vec![0i64; t];
        // Per head: p and dS (lower triangles, row i at i·t), dS row exponents, and the aligned q and dO.
        struct HeadRows {
            p: Vec<i32>,
            ds: Vec<i32>,
            ds_exp: Vec<Option<i32>>,
            q: Aligned,
            d_out: Aligned,
        }
        let mut heads = Vec::new();
        let mut dq = Vec::new();
        for h in self.heads_of(g) {
            let mut hr = HeadRows {
                p: vec![0; t * t],
                ds: vec![0; t * t],
                ds_exp: vec![None; t],
                q: aligned(q, rows.clone(), h, hd),
                d_out: aligned(d_out, rows.clone(), h, hd),
            };
            let mut dq_wide = vec![0i64; t * hd];
            let mut dq_exp = vec![0i32; t];
            for i in 0..t {
                let row = rows.start + i;
                let n = i + 1;
                self.probs_row(
                    wide,
                    &q_scaled.row(row)[h * hd..(h + 1) * hd],
                    q_scaled.exp[row],
                    &keys,
                    &mut z[..n],
                    &mut p[..n],
                );
                // dP_ij = dO_i · v_j, all at exponent e_dOi + E_v; normalized to 23 bits.
                dp[..n].fill(0);
                wide.gather(
                    &mut dp[..n],
                    &d_out.row(row)[h * hd..(h + 1) * hd],
                    &values.transposed,
                    t,
                );
                let shift = bfp::block_shift(
                    dp[..n].iter().map(|d| d.unsigned_abs()).max().unwrap_or(0),
                    MANT_BITS,
                );
                let dp32: Vec<i32> = dp[..n]
                    .iter()
                    .map(|&d| round::shr(d, shift) as i32)
                    .collect();
                let dp_exp = d_out.exp[row] + values.exp + shift as i32;
                // D_i = Σ_j p_ij dP_ij / 2^23 (Q.23 probabilities); dS_ij = p_ij (dP_ij − D_i).
                let mut d_sum = [0i64];
                wide.dots(&p[..n], &dp32, &mut d_sum);
                let d_i = round::shr(d_sum[0], MANT_BITS);
                for ((w, &pj), &dpj) in ds_wide[..n].iter_mut().zip(&p[..n]).zip(&dp32) {
                    *w = i64::from(pj) * (i64::from(dpj) - d_i);
                }
                let (ds, ds_exp) = normalize_row(&ds_wide[..n], dp_exp - MANT_BITS as i32);
                // dq_i = Σ_j dS_ij k_j (before 1/sqrt(head_dim)).
                wide.gather(
                    &mut dq_wide[i * hd..(i + 1) * hd],
                    &ds,
                    &keys.mant[..n * hd],
                    hd,
                );
                dq_exp[i] = ds_exp + keys.exp;
                if ds.iter().any(|&d| d != 0) {
                    hr.ds_exp[i] = Some(ds_exp);
                }
                hr.ds[i * t..i * t + n].copy_from_slice(&ds);
                hr.p[i * t..i * t + n].copy_from_slice(&p[..n]);
            }
            dq.push(Segment {
                head: h,
                wide: dq_wide,
                exp: dq_exp,
            });
            heads.push(hr);
        }
        // dk_j = Σ_h Σ_i dS_ij q_i with every dS row moved onto the group's largest exponent; dv_j = Σ_h Σ_i p_ij dO_i.
        let ds_top = heads
            .iter()
            .flat_map(|hr| hr.ds_exp.iter().flatten())
            .copied()
            .max()
            .unwrap_or(0);
        // Column j of p and of the aligned dS (rows i ≥ j) made contiguous, so each dk_j, dv_j is one gather.
        let (mut dk_wide, mut dv_wide) = (vec![0i64; t * hd], vec![0i64; t * hd]);
        let (mut p_t, mut ds_t) = (vec![0i32; t * t], vec![0i32; t * t]);
        for hr in &heads {
            for i in 0..t {
                let shift = hr.ds_exp[i].map(|e| (ds_top - e) as u32);
                for j in 0..=i {
                    p_t[j * t + i] = hr.p[i * t + j];
                    ds_t[j * t + i] =
                        shift.map_or(0, |s| round::shr(i64::from(hr.ds[i * t + j]), s) as i32);
                }
            }
            for j in 0..t {
                wide.gather(
                    &mut dk_wide[j * hd..(j + 1) * hd],
                    &ds_t[j * t + j..(j + 1) * t],
                    &hr.q.mant[j * hd..],
                    hd,
                );
                wide.gather(
                    &mut dv_wide[j * hd..(j + 1) * hd],
                    &p_t[j * t + j..(j + 1) * t],
                    &hr.d_out.mant[j * hd..],
                    hd,
                );
            }
        }
        let q_exp = heads.first().map_or(0, |hr| hr.q.exp);
        let d_exp = heads.first().map_or(0, |hr| hr.d_out.exp);
        BackwardPiece {
            dq,
            dk: Segment {
                head: g,
                wide: dk_wide,
                exp: vec![ds_top + q_exp; t],
            },
            dv: Segment {
                head: g,
                wide: dv_wide,
                exp: vec![d_exp - MANT_BITS as i32; t],
            },
        }
    }

    /// Rows of `n_seg` head segments each from the pieces' segments.
    fn assemble(&self, rows: usize, n_seg: usize, segments: Vec<(Range<usize>, Segment)>) -> Rows {
        let hd = self.head_dim;
        let cols = n_seg * hd;
        let mut wide = vec![0i64; rows * cols];
        let mut seg_exp = vec![0i32; rows * n_seg];
        for (range, seg) in segments {
            for (i, row) in range.enumerate() {
                wide[row * cols + seg.head * hd..row * cols + (seg.head + 1) * hd]
                    .copy_from_slice(&seg.wide[i * hd..(i + 1) * hd]);
                seg_exp[row * n_seg + seg.head] = seg.exp[i];
            }
        }
        from_segments(cols, hd, &wide, &seg_exp)
    }
}

/// One (sequence, kv head) piece of [`Attention::forward`], compiled for the CPU's vector width.
struct ForwardPiece<'a> {
    attention: &'a Attention,
    wide: Wide,
    q_scaled: &'a Rows,
    k: &'a Rows,
    v: &'a Rows,
    rows: Range<usize>,
    g: usize,
}

impl SimdJob for ForwardPiece<'_> {
    type Output = Vec<Segment>;

    #[inline(always)]
    fn run(self) -> Vec<Segment> {
        self.attention
            .forward_piece(self.wide, self.q_scaled, self.k, self.v, self.rows, self.g)
    }
}

/// One (sequence, kv head) piece of [`Attention::backward`], compiled for the CPU's vector width.
struct BackwardPieceJob<'a> {
    attention: &'a Attention,
    wide: Wide,
    q: &'a Rows,
    q_scaled: &'a Rows,
    k: &'a Rows,
    v: &'a Rows,
    d_out: &'a Rows,
    rows: Range<usize>,
    g: usize,
}

impl SimdJob for BackwardPieceJob<'_> {
    type Output = BackwardPiece;

    #[inline(always)]
    fn run(self) -> BackwardPiece {
        self.attention.backward_piece(
            self.wide,
            self.q,
            self.q_scaled,
            self.k,
            self.v,
            self.d_out,
            self.rows,
            self.g,
        )
    }
}

/// Head `head`'s slices (width `hd`) of rows `rows`, moved onto one exponent: the largest exponent among the rows
/// that are not all zero (whole rows, so every head of a tensor shares it), each value rounded half to even.
fn aligned(x: &Rows, rows: Range<usize>, head: usize, hd: usize) -> Aligned {
    let exp = rows
        .clone()
        .filter(|&r| x.row(r).iter().any(|&m| m != 0))
        .map(|r| x.exp[r])
        .max()
        .unwrap_or(0);
    let t = rows.len();
    let mut mant = Vec::with_capacity(t * hd);
    for r in rows {
        let shift = (exp - x.exp[r]).max(0) as u32;
        mant.extend(
            x.row(r)[head * hd..(head + 1) * hd]
                .iter()
                .map(|&m| round::shr(i64::from(m), shift) as i32),
        );
    }
    let mut transposed = vec![0i32; t * hd];
    for (j, row) in mant.chunks_exact(hd).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            transposed[c * t + j] = v;
        }
    }
    Aligned {
        mant,
        transposed,
        exp,
    }
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
        // An all-zero segment's exponent carries no information: it must not pull the others down.
        let top = parts
            .iter()
            .filter(|(m, _)| m.iter().any(|&v| v != 0))
            .map(|(_, e)| *e)
            .max()
            .or_else(|| parts.iter().map(|(_, e)| *e).max())
            .unwrap_or(0);
        for (s, (m, e)) in parts.iter().enumerate() {
            let shift = (top - e).max(0) as u32;
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
        let cpu = Cpu::new().with_threads(2).unwrap();
        let out = attn.forward(&q, &k, &v, seq, &cpu).to_f64();
        assert_close(&out, &reference.forward(&qf, &kf, &vf, batch), 1e-5, "out");
        let (dq, dk, dv) = attn.backward(&q, &k, &v, &d_out, seq, &cpu.with_threads(3).unwrap());
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
        let out = attn.forward(&q, &k, &v, 2, &Cpu::new()).to_f64();
        assert_eq!(&out[..4], &[1.0, -1.0, 2.0, -2.0]);
        // token 1's score on itself is 5000/2 higher than on token 0: all weight on itself
        assert_eq!(&out[4..], &[9.0, 9.0, 9.0, 9.0]);
    }
}
