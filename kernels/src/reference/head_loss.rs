//! The LM head and cross-entropy as one autograd node.
//!
//! Over a 49152-token vocabulary the logits are the largest tensors of a step (`tokens × vocab`). Written as
//! separate candle operations (matmul, max, subtract, exp, sum, log, gather) and their backward passes, each makes
//! another full-size pass and allocation, and the matmul's backward also computes a gradient for the frozen head.
//! This node computes `nll[i] = logsumexp(h_i·Wᵀ) − (h_i·Wᵀ)[target_i]` forward, keeps `softmax − onehot`, and
//! gives back only `∂L/∂h = (softmax − onehot)·g·W`.

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp1, Device, Layout, Shape, Tensor, WithDType};

use super::quantize::Real;

/// Per-row negative log-likelihood of `targets` under the logits `h·Wᵀ`, for `h` of shape `[rows, d]`.
pub(crate) struct HeadCrossEntropy {
    /// `[vocab, d]`, frozen.
    pub(crate) weight: Tensor,
    /// One target id per row of `h`.
    pub(crate) targets: Vec<u32>,
    /// `softmax − onehot(target)` from the forward pass, `[rows, vocab]`, taken by the backward pass.
    pub(crate) dlogits: Mutex<Option<Tensor>>,
}

impl HeadCrossEntropy {
    pub(crate) fn new(weight: Tensor, targets: Vec<u32>) -> Self {
        Self {
            weight,
            targets,
            dlogits: Mutex::new(None),
        }
    }

    fn forward<T: Real + WithDType>(
        &self,
        input: &[T],
        rows: usize,
        d: usize,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        if self.targets.len() != rows {
            candle_core::bail!("{} targets for {rows} rows", self.targets.len());
        }
        let x = Tensor::from_slice(input, (rows, d), &Device::Cpu)?;
        let logits = x.matmul(&self.weight.t()?)?;
        let vocab = logits.dim(1)?;
        if let Some(bad) = self.targets.iter().find(|&&t| t as usize >= vocab) {
            candle_core::bail!("target {bad} is outside the vocabulary of {vocab}");
        }
        let mut probs = logits.flatten_all()?.to_vec1::<T>()?;
        let mut nll = vec![<T as Real>::from_f64(0.0); rows];
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let rows_per_thread = rows.div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            for ((prob_rows, nll_rows), target_rows) in probs
                .chunks_mut(rows_per_thread * vocab)
                .zip(nll.chunks_mut(rows_per_thread))
                .zip(self.targets.chunks(rows_per_thread))
            {
                scope.spawn(move || {
                    for ((row, out), &target) in
                        prob_rows.chunks_mut(vocab).zip(nll_rows).zip(target_rows)
                    {
                        *out = <T as Real>::from_f64(softmax_row_nll(row, target as usize));
                    }
                });
            }
        });
        let dlogits = Tensor::from_vec(probs, (rows, vocab), &Device::Cpu)?;
        *self.dlogits.lock().unwrap_or_else(|e| e.into_inner()) = Some(dlogits);
        Ok((T::to_cpu_storage_owned(nll), Shape::from(rows)))
    }
}

/// Replaces `row` (logits) by `softmax(row) − onehot(target)` and returns `logsumexp(row) − row[target]`,
/// accumulated in f64. `target` is in range (checked by the caller).
fn softmax_row_nll<T: Real>(row: &mut [T], target: usize) -> f64 {
    let max = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(v.to_f64()));
    let target_logit = row[target].to_f64();
    let mut sum = 0.0;
    for v in row.iter_mut() {
        let e = (v.to_f64() - max).exp();
        sum += e;
        *v = T::from_f64(e);
    }
    for v in row.iter_mut() {
        *v = T::from_f64(v.to_f64() / sum);
    }
    row[target] = T::from_f64(row[target].to_f64() - 1.0);
    max + sum.ln() - target_logit
}

impl CustomOp1 for HeadCrossEntropy {
    fn name(&self) -> &'static str {
        "tern-head-cross-entropy"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (rows, d) = layout.shape().dims2()?;
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("the LM head needs a contiguous input");
        };
        match storage {
            CpuStorage::F32(v) => self.forward(&v[start..end], rows, d),
            CpuStorage::F64(v) => self.forward(&v[start..end], rows, d),
            _ => candle_core::bail!("the LM head supports f32 and f64 tensors only"),
        }
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let Some(dlogits) = self
            .dlogits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            candle_core::bail!("the LM head's backward ran twice for one forward");
        };
        let rows = dlogits.dim(0)?;
        let dlogits = dlogits.broadcast_mul(&grad_res.reshape((rows, 1))?)?;
        Ok(Some(dlogits.matmul(&self.weight)?))
    }
}
