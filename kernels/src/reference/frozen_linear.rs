//! A linear layer with a frozen weight, as one autograd node.
//!
//! Candle's `matmul` backward computes the gradient of both operands, which for a frozen base weight is wasted work
//! (as large as the forward pass) and memory. This custom op computes `y = q(x)·Wᵀ` forward and only
//! `∂L/∂x = ∂L/∂y · W` backward. Because the backward ignores `q`, the activation quantizer gets the
//! straight-through estimator for free.

use candle_core::{CpuStorage, CustomOp1, Device, Layout, Shape, Tensor};

use super::quantize::{ActivationQuant, Real, fake_quantize_int8_rows};

/// `y = q(x)·Wᵀ` for a 2-D input `x` (`[tokens, in]`) and a frozen `W` (`[out, in]`).
pub(crate) struct FrozenLinear {
    /// `[out_features, in_features]`, no gradient.
    pub(crate) weight: Tensor,
    /// What `q` is.
    pub(crate) input_quant: ActivationQuant,
}

impl FrozenLinear {
    fn forward<T: Real + candle_core::WithDType>(
        &self,
        input: &[T],
        rows: usize,
        cols: usize,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let mut x = input.to_vec();
        if self.input_quant == ActivationQuant::Int8PerToken {
            fake_quantize_int8_rows(&mut x, cols);
        }
        let y = Tensor::from_vec(x, (rows, cols), &Device::Cpu)?.matmul(&self.weight.t()?)?;
        let out = y.dim(1)?;
        let values = y.flatten_all()?.to_vec1::<T>()?;
        Ok((T::to_cpu_storage_owned(values), Shape::from((rows, out))))
    }
}

impl CustomOp1 for FrozenLinear {
    fn name(&self) -> &'static str {
        "tern-frozen-linear"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (rows, cols) = layout.shape().dims2()?;
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("frozen linear needs a contiguous input");
        };
        match storage {
            CpuStorage::F32(v) => self.forward(&v[start..end], rows, cols),
            CpuStorage::F64(v) => self.forward(&v[start..end], rows, cols),
            _ => candle_core::bail!("frozen linear supports f32 and f64 tensors only"),
        }
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad_res.matmul(&self.weight)?))
    }
}
