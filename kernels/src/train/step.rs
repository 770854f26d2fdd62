//! The training step `S_i → S_{i+1}`.

use super::{
    adamw::{self, AdamW},
    schedule::LrSchedule,
    state::TrainState,
};
use crate::{
    cpu::{Cpu, CpuError},
    data::Batch,
    fixed::scale::ScaleError,
    model::{ActivationMemory, Adapters, BaseModel, LoraTarget, Transformer},
    rng::Key,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A step that cannot run.
#[derive(Debug, Error)]
pub enum StepError {
    /// The CPU backend refused an operand.
    #[error(transparent)]
    Cpu(#[from] CpuError),
    /// A hyperparameter cannot be a fixed-point constant.
    #[error("hyperparameter out of range: {0}")]
    Scale(#[from] ScaleError),
    /// The batch does not fit the model or the state.
    #[error("{0}")]
    Shape(String),
}

/// LoRA and optimizer settings of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// LoRA rank.
    pub rank: usize,
    /// LoRA alpha (the branch is scaled by `alpha / rank`).
    pub alpha: f64,
    /// Adapted projections.
    pub targets: Vec<LoraTarget>,
    /// Optimizer.
    pub optimizer: AdamW,
    /// Learning-rate schedule.
    pub schedule: LrSchedule,
}

/// What a step reports (display only; the state is what is committed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// The step that ran (`i` of `S_i → S_{i+1}`).
    pub step: u32,
    /// Mean training loss of the batch before the update.
    pub loss: f64,
    /// Target tokens counted.
    pub tokens: usize,
    /// Learning rate used.
    pub lr: f64,
}

/// Runs training steps of one job on the CPU backend.
pub struct Trainer<'a> {
    base: &'a BaseModel,
    cpu: Cpu,
    config: TrainConfig,
    rounding: Key,
    memory: ActivationMemory,
}

impl<'a> Trainer<'a> {
    /// A trainer for `base` with the job's settings; `rounding` is the job's stochastic-rounding key. It
    /// recomputes activations until told otherwise ([`Self::with_activation_memory`]).
    pub fn new(base: &'a BaseModel, cpu: Cpu, config: TrainConfig, rounding: Key) -> Self {
        Self {
            base,
            cpu,
            config,
            rounding,
            memory: ActivationMemory::Recompute,
        }
    }

    /// The same trainer keeping activations as `memory` says (typically the plan of [`Self::check_spec`]); the
    /// states it computes do not change.
    pub fn with_activation_memory(mut self, memory: ActivationMemory) -> Self {
        self.memory = memory;
        self
    }

    /// What the forward pass keeps for the backward pass.
    pub fn activation_memory(&self) -> ActivationMemory {
        self.memory
    }

    /// The job's settings.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Checks that batches of `shape` stay within the integer ops' bounds and, given a `budget` in bytes, that a
    /// step's estimated memory fits it ([`super::bounds::check_spec`]); returns the estimate of the fastest
    /// [`ActivationMemory`] that fits.
    pub fn check_spec(
        &self,
        shape: super::bounds::StepShape,
        budget: Option<u64>,
    ) -> Result<super::bounds::MemoryEstimate, super::bounds::SpecError> {
        super::bounds::check_spec(
            &self.base.config,
            self.base.quant,
            &self.config,
            shape,
            self.base.rope_positions(),
            budget,
        )
    }

    /// `S_0` for this job (LoRA `A` drawn from `init`).
    pub fn initial_state(&self, init: Key) -> TrainState {
        TrainState::init(
            &self.base.config,
            self.config.rank,
            &self.config.targets,
            init,
        )
    }

    fn check(&self, batch: &Batch) -> Result<(), StepError> {
        let rows = batch.rows();
        if rows == 0 || batch.seq_len == 0 {
            return Err(StepError::Shape(format!(
                "the batch is empty ({rows} rows of {} tokens): it needs at least one row of at least one token",
                batch.seq_len
            )));
        }
        if batch.tokens.len() != rows * (batch.seq_len + 1)
            || batch.loss_mask.len() != rows * batch.seq_len
        {
            return Err(StepError::Shape(format!(
                "the batch's {rows} rows of {} targets need {} tokens and {} mask values; it has {} and {}",
                batch.seq_len,
                rows * (batch.seq_len + 1),
                rows * batch.seq_len,
                batch.tokens.len(),
                batch.loss_mask.len()
            )));
        }
        let vocab = self.base.config.vocab_size as u32;
        if let Some(&t) = batch.tokens.iter().find(|&&t| t >= vocab) {
            return Err(StepError::Shape(format!(
                "token id {t} is outside the model's vocabulary of {vocab}"
            )));
        }
        if batch.seq_len > self.base.rope_positions() {
            return Err(StepError::Shape(format!(
                "sequence length {} exceeds the {} positions this model was loaded for",
                batch.seq_len,
                self.base.rope_positions()
            )));
        }
        Ok(())
    }

    /// One step: loss and gradients of `batch` at `state`, then the AdamW update; `state.step` advances by one.
    pub fn step(&self, state: &mut TrainState, batch: &Batch) -> Result<StepReport, StepError> {
        self.check(batch)?;
        let (inputs, targets, mask) = split_batch(batch);
        let adapters = Adapters::from_state(&self.base.config, state, self.config.alpha);
        let out = Transformer::new(self.base, &adapters, &self.cpu).loss_and_gradients(
            &inputs,
            &targets,
            &mask,
            batch.seq_len,
            self.memory,
        )?;
        let step = state.step;
        let lr = self.config.schedule.lr(step);
        let constants = self.config.optimizer.constants(step, lr)?;
        for (i, (ad, grad)) in state.adapters.iter_mut().zip(&out.grads).enumerate() {
            let Some(grad) = grad else { continue };
            adamw::update(
                &constants,
                &mut ad.a,
                &mut ad.a_moments,
                &grad.a,
                self.rounding,
                step,
                2 * i as u32,
            );
            adamw::update(
                &constants,
                &mut ad.b,
                &mut ad.b_moments,
                &grad.b,
                self.rounding,
                step,
                2 * i as u32 + 1,
            );
        }
        state.step += 1;
        Ok(StepReport {
            step,
            loss: out.loss,
            tokens: out.tokens,
            lr,
        })
    }

    /// Mean loss over batches (forward only): `(mean loss, counted tokens)`.
    pub fn evaluate<'b>(
        &self,
        state: &TrainState,
        batches: impl IntoIterator<Item = &'b Batch>,
    ) -> Result<(f64, usize), StepError> {
        let adapters = Adapters::from_state(&self.base.config, state, self.config.alpha);
        let model = Transformer::new(self.base, &adapters, &self.cpu);
        let (mut sum, mut count) = (0.0, 0);
        for batch in batches {
            self.check(batch)?;
            let (inputs, targets, mask) = split_batch(batch);
            let (s, c) = model.loss(&inputs, &targets, &mask, batch.seq_len)?;
            sum += s;
            count += c;
        }
        Ok((sum / count.max(1) as f64, count))
    }
}

/// `(inputs, targets, mask)` flattened over the batch's rows.
fn split_batch(batch: &Batch) -> (Vec<u32>, Vec<u32>, Vec<u8>) {
    let mut inputs = Vec::with_capacity(batch.rows() * batch.seq_len);
    let mut targets = Vec::with_capacity(inputs.capacity());
    let mut mask = Vec::with_capacity(inputs.capacity());
    for r in 0..batch.rows() {
        inputs.extend_from_slice(batch.inputs(r));
        targets.extend_from_slice(batch.targets(r));
        mask.extend_from_slice(batch.row_loss_mask(r));
    }
    (inputs, targets, mask)
}
