//! The LoRA adapter: per layer and target, `y += (alpha/rank)·B·A·x` with trainable `A` (`rank × in`) and `B`
//! (`out × rank`).

use std::collections::BTreeMap;

use candle_core::{DType, Device, Tensor, Var};

use crate::model::{LoraTarget, ModelConfig};
use crate::rng::Key;

use super::error::ReferenceError;

/// Which projections get an adapter, and its rank and scale.
#[derive(Debug, Clone, PartialEq)]
pub struct LoraSettings {
    /// Inner dimension `r` of `B·A`.
    pub rank: usize,
    /// Scale numerator: the update is `(alpha / rank)·B·A·x`.
    pub alpha: f32,
    /// Adapted projections, in every layer.
    pub targets: Vec<LoraTarget>,
}

/// One of the two matrices of an adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LoraMatrix {
    /// The down projection, `rank × in_features`, initialised by the caller.
    A,
    /// The up projection, `out_features × rank`, initialised to zero.
    B,
}

/// Names one trainable matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LoraParam {
    /// Block index.
    pub layer: usize,
    /// Adapted projection.
    pub target: LoraTarget,
    /// A or B.
    pub matrix: LoraMatrix,
}

/// The usual LoRA A initialisation (PEFT's Kaiming-uniform default): uniform in `±1/√cols`, a pure function of
/// `key`, with the counter `(layer, target index in LoraTarget::ALL, element)`. Pass it to
/// [`ReferenceTrainer::new`](super::ReferenceTrainer::new) and to the integer trainer so both start from the same A.
pub fn uniform_a_init(key: Key) -> impl Fn(usize, LoraTarget, usize, usize) -> Vec<f32> {
    move |layer, target, rows, cols| {
        let target_index = LoraTarget::ALL
            .iter()
            .position(|t| *t == target)
            .unwrap_or(0) as u32;
        let bound = 1.0 / (cols as f64).sqrt();
        (0..rows * cols)
            .map(|i| {
                let unit =
                    f64::from(key.word(layer as u32, target_index, i as u32)) / f64::from(u32::MAX);
                ((unit * 2.0 - 1.0) * bound) as f32
            })
            .collect()
    }
}

/// The adapter's variables.
pub(crate) struct Lora {
    /// `alpha / rank`.
    pub(crate) scale: f64,
    /// `(A, B)` per adapted `(layer, target)`.
    pub(crate) adapters: BTreeMap<(usize, LoraTarget), (Var, Var)>,
}

impl Lora {
    pub(crate) fn new(
        config: &ModelConfig,
        settings: &LoraSettings,
        mut init_a: impl FnMut(usize, LoraTarget, usize, usize) -> Vec<f32>,
        dtype: DType,
    ) -> Result<Self, ReferenceError> {
        if settings.rank == 0 {
            return Err(ReferenceError::InvalidSettings(
                "LoRA rank must be at least 1".into(),
            ));
        }
        if settings.targets.is_empty() {
            return Err(ReferenceError::InvalidSettings(
                "LoRA needs at least one target projection".into(),
            ));
        }
        let r = settings.rank;
        let mut adapters = BTreeMap::new();
        for layer in 0..config.n_layers {
            for &target in &settings.targets {
                let (out, inp) = target.shape(config);
                let a = init_a(layer, target, r, inp);
                if a.len() != r * inp {
                    return Err(ReferenceError::BadLoraInit {
                        layer,
                        target,
                        expected: r * inp,
                        got: a.len(),
                    });
                }
                let a = Var::from_tensor(
                    &Tensor::from_vec(a, (r, inp), &Device::Cpu)?.to_dtype(dtype)?,
                )?;
                let b = Var::zeros((out, r), dtype, &Device::Cpu)?;
                adapters.insert((layer, target), (a, b));
            }
        }
        Ok(Self {
            scale: f64::from(settings.alpha) / r as f64,
            adapters,
        })
    }

    /// The variable `param` names.
    pub(crate) fn var(&self, param: LoraParam) -> Result<&Var, ReferenceError> {
        let (a, b) = self
            .adapters
            .get(&(param.layer, param.target))
            .ok_or_else(|| ReferenceError::LoraParam {
                param,
                reason: "this adapter has no such layer and target".into(),
            })?;
        Ok(match param.matrix {
            LoraMatrix::A => a,
            LoraMatrix::B => b,
        })
    }

    /// Every parameter with its variable, in a fixed order (layer, target, A before B).
    pub(crate) fn params(&self) -> impl Iterator<Item = (LoraParam, &Var)> {
        self.adapters.iter().flat_map(|(&(layer, target), (a, b))| {
            [
                (
                    LoraParam {
                        layer,
                        target,
                        matrix: LoraMatrix::A,
                    },
                    a,
                ),
                (
                    LoraParam {
                        layer,
                        target,
                        matrix: LoraMatrix::B,
                    },
                    b,
                ),
            ]
        })
    }

    /// `x·Aᵀ·Bᵀ·scale` for the adapter of `(layer, target)`, or `None` when that projection is not adapted.
    pub(crate) fn delta(
        &self,
        layer: usize,
        target: LoraTarget,
        x: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let Some((a, b)) = self.adapters.get(&(layer, target)) else {
            return Ok(None);
        };
        let down = x.matmul(&a.as_tensor().t()?)?;
        Ok(Some(
            down.matmul(&b.as_tensor().t()?)?.affine(self.scale, 0.0)?,
        ))
    }
}
