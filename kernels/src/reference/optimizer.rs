//! AdamW and SGD with momentum over the LoRA variables, as candle tensor operations.

use candle_core::{Tensor, Var};

use super::error::ReferenceError;

/// Optimizer and its hyperparameters (the learning rate is given per step).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerSettings {
    /// AdamW (Loshchilov & Hutter) as in PyTorch: `m = β1·m + (1−β1)·g`, `v = β2·v + (1−β2)·g²`,
    /// `p = p·(1 − lr·weight_decay) − lr·m̂/(√v̂ + ε)` with bias-corrected `m̂ = m/(1−β1ᵗ)`, `v̂ = v/(1−β2ᵗ)`.
    AdamW {
        /// First-moment decay.
        beta1: f32,
        /// Second-moment decay.
        beta2: f32,
        /// Denominator guard.
        eps: f32,
        /// Decoupled weight decay.
        weight_decay: f32,
    },
    /// SGD with momentum as in PyTorch (no dampening): `u = μ·u + g + weight_decay·p`, `p = p − lr·u`.
    Sgd {
        /// Momentum `μ` (0 for plain SGD).
        momentum: f32,
        /// L2 weight decay added to the gradient.
        weight_decay: f32,
    },
}

impl OptimizerSettings {
    /// AdamW with PyTorch's defaults (β1 0.9, β2 0.999, ε 1e-8) and no weight decay.
    pub fn adamw() -> Self {
        Self::AdamW {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }

    fn check(&self) -> Result<(), ReferenceError> {
        let bad = |what: &str| Err(ReferenceError::InvalidSettings(what.into()));
        match *self {
            Self::AdamW {
                beta1,
                beta2,
                eps,
                weight_decay,
            } => {
                if !(0.0..1.0).contains(&beta1) || !(0.0..1.0).contains(&beta2) {
                    return bad("AdamW betas must lie in [0, 1)");
                }
                if eps.is_nan() || eps <= 0.0 || weight_decay.is_nan() || weight_decay < 0.0 {
                    return bad("AdamW needs eps > 0 and weight_decay >= 0");
                }
            }
            Self::Sgd {
                momentum,
                weight_decay,
            } => {
                if !(0.0..1.0).contains(&momentum) || weight_decay.is_nan() || weight_decay < 0.0 {
                    return bad("SGD needs momentum in [0, 1) and weight_decay >= 0");
                }
            }
        }
        Ok(())
    }
}

/// Optimizer state: one or two moment tensors per variable, in the order of the variables given to `update`.
pub(crate) struct Optimizer {
    settings: OptimizerSettings,
    steps: u32,
    first: Vec<Tensor>,
    second: Vec<Tensor>,
}

impl Optimizer {
    pub(crate) fn new(settings: OptimizerSettings, vars: &[&Var]) -> Result<Self, ReferenceError> {
        settings.check()?;
        let zeros = || {
            vars.iter()
                .map(|v| v.as_tensor().zeros_like())
                .collect::<candle_core::Result<Vec<_>>>()
        };
        let second = if matches!(settings, OptimizerSettings::AdamW { .. }) {
            zeros()?
        } else {
            Vec::new()
        };
        Ok(Self {
            settings,
            steps: 0,
            first: zeros()?,
            second,
        })
    }

    /// Applies one update with learning rate `lr`; `grads[i]` belongs to `vars[i]`.
    pub(crate) fn update(
        &mut self,
        vars: &[&Var],
        grads: &[Tensor],
        lr: f64,
    ) -> candle_core::Result<()> {
        self.steps += 1;
        match self.settings {
            OptimizerSettings::AdamW {
                beta1,
                beta2,
                eps,
                weight_decay,
            } => {
                let (b1, b2) = (f64::from(beta1), f64::from(beta2));
                let t = i32::try_from(self.steps).unwrap_or(i32::MAX);
                let correct1 = 1.0 - b1.powi(t);
                let correct2 = 1.0 - b2.powi(t);
                for (i, (var, g)) in vars.iter().zip(grads).enumerate() {
                    let m = ((&self.first[i] * b1)? + (g * (1.0 - b1))?)?;
                    let v = ((&self.second[i] * b2)? + (g.sqr()? * (1.0 - b2))?)?;
                    let denom = ((&v / correct2)?.sqrt()? + f64::from(eps))?;
                    let step = ((&m / correct1)? / denom)?;
                    let p = var.as_tensor();
                    let next = ((p * (1.0 - lr * f64::from(weight_decay)))? - (step * lr)?)?;
                    var.set(&next)?;
                    self.first[i] = m;
                    self.second[i] = v;
                }
            }
            OptimizerSettings::Sgd {
                momentum,
                weight_decay,
            } => {
                for (i, (var, g)) in vars.iter().zip(grads).enumerate() {
                    let p = var.as_tensor();
                    let g = (g + (p * f64::from(weight_decay))?)?;
                    let u = ((&self.first[i] * f64::from(momentum))? + g)?;
                    var.set(&(p - (&u * lr)?)?)?;
                    self.first[i] = u;
                }
            }
        }
        Ok(())
    }
}
