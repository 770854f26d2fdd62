//! The reference trainer: forward, autograd backward, optimizer step.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Tensor};

use crate::model::{LoraTarget, ModelConfig};

use super::error::ReferenceError;
use super::lora::{Lora, LoraParam, LoraSettings};
use super::model::{Numerics, Transformer};
use super::optimizer::{Optimizer, OptimizerSettings};
use super::weights::BaseWeights;

/// Trains a LoRA adapter on a frozen base in floating point, with candle's autograd.
///
/// A batch is `tokens` (`batch × (seq + 1)` ids, row-major: each row is one sequence) and `loss_mask`
/// (`batch × seq` flags): position `t` of row `b` predicts `tokens[b][t + 1]` from `tokens[b][..=t]` and counts
/// in the loss when `loss_mask[b][t] != 0`. The batch size is `tokens.len() − loss_mask.len()`. The loss is the
/// mean cross-entropy (nats) over the counted positions.
pub struct ReferenceTrainer {
    model: Transformer,
    lora: Lora,
    optimizer: Optimizer,
    vocab_size: usize,
}

/// A validated batch as tensors.
struct Batch {
    inputs: Tensor,
    selected: Tensor,
    selected_targets: Vec<u32>,
}

impl ReferenceTrainer {
    /// Loads the base (applying `numerics`' weight quantization), creates the adapter (A from
    /// `init_a(layer, target, rank, in_features)`, row-major; B zero) and the optimizer state.
    pub fn new(
        config: &ModelConfig,
        weights: &BaseWeights,
        numerics: Numerics,
        lora: &LoraSettings,
        init_a: impl FnMut(usize, LoraTarget, usize, usize) -> Vec<f32>,
        optimizer: OptimizerSettings,
    ) -> Result<Self, ReferenceError> {
        let model = Transformer::new(config, weights, numerics)?;
        let lora = Lora::new(config, lora, init_a, numerics.precision.dtype())?;
        let vars: Vec<_> = lora.params().map(|(_, v)| v).collect();
        let optimizer = Optimizer::new(optimizer, &vars)?;
        Ok(Self {
            model,
            lora,
            optimizer,
            vocab_size: config.vocab_size,
        })
    }

    /// One optimizer step at learning rate `lr`; returns the batch's loss before the update.
    pub fn step(
        &mut self,
        tokens: &[u32],
        loss_mask: &[u8],
        lr: f32,
    ) -> Result<f32, ReferenceError> {
        let batch = self.batch(tokens, loss_mask)?;
        let loss = self.model.loss(
            &self.lora,
            &batch.inputs,
            &batch.selected,
            batch.selected_targets,
        )?;
        let grads = loss.backward()?;
        let vars: Vec<_> = self.lora.params().map(|(_, v)| v).collect();
        let grads = vars
            .iter()
            .map(|v| match grads.get(v.as_tensor()) {
                Some(g) => Ok(g.clone()),
                None => v.as_tensor().zeros_like(),
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        self.optimizer.update(&vars, &grads, f64::from(lr))?;
        Ok(loss.to_dtype(DType::F64)?.to_scalar::<f64>()? as f32)
    }

    /// The batch's loss, without training.
    pub fn eval_loss(&self, tokens: &[u32], loss_mask: &[u8]) -> Result<f32, ReferenceError> {
        Ok(self.eval_loss_f64(tokens, loss_mask)? as f32)
    }

    /// The batch's loss in the trainer's own precision, widened to f64 (for finite-difference checks at
    /// [`Precision::F64`](super::Precision::F64)).
    pub fn eval_loss_f64(&self, tokens: &[u32], loss_mask: &[u8]) -> Result<f64, ReferenceError> {
        let batch = self.batch(tokens, loss_mask)?;
        let loss = self.model.loss(
            &self.lora,
            &batch.inputs,
            &batch.selected,
            batch.selected_targets,
        )?;
        Ok(loss.to_dtype(DType::F64)?.to_scalar::<f64>()?)
    }

    /// The gradient of the batch's loss with respect to every LoRA matrix (row-major), without training.
    pub fn gradients(
        &self,
        tokens: &[u32],
        loss_mask: &[u8],
    ) -> Result<BTreeMap<LoraParam, Vec<f32>>, ReferenceError> {
        let batch = self.batch(tokens, loss_mask)?;
        let loss = self.model.loss(
            &self.lora,
            &batch.inputs,
            &batch.selected,
            batch.selected_targets,
        )?;
        let grads = loss.backward()?;
        self.lora
            .params()
            .map(|(param, var)| {
                let values = match grads.get(var.as_tensor()) {
                    Some(g) => to_f32_vec(g)?,
                    None => vec![0.0; var.as_tensor().elem_count()],
                };
                Ok((param, values))
            })
            .collect()
    }

    /// Every trainable matrix's name, in a fixed order (layer, target, A before B).
    pub fn lora_params(&self) -> Vec<LoraParam> {
        self.lora.params().map(|(p, _)| p).collect()
    }

    /// The current values of one LoRA matrix (row-major; A is `rank × in`, B is `out × rank`).
    pub fn lora_values(&self, param: LoraParam) -> Result<Vec<f32>, ReferenceError> {
        to_f32_vec(self.lora.var(param)?.as_tensor())
    }

    /// Overwrites one LoRA matrix (to start from another trainer's state, or to perturb it in a test).
    pub fn set_lora_values(
        &mut self,
        param: LoraParam,
        values: &[f32],
    ) -> Result<(), ReferenceError> {
        let var = self.lora.var(param)?;
        let t = var.as_tensor();
        if values.len() != t.elem_count() {
            return Err(ReferenceError::LoraParam {
                param,
                reason: format!("got {} values, the matrix has {:?}", values.len(), t.dims()),
            });
        }
        var.set(&Tensor::from_slice(values, t.shape(), &Device::Cpu)?.to_dtype(t.dtype())?)?;
        Ok(())
    }

    fn batch(&self, tokens: &[u32], loss_mask: &[u8]) -> Result<Batch, ReferenceError> {
        let bad = |what: String| Err(ReferenceError::InvalidBatch(what));
        let rows = tokens.len().saturating_sub(loss_mask.len());
        if rows == 0 || loss_mask.is_empty() || !loss_mask.len().is_multiple_of(rows) {
            return bad(format!(
                "{} tokens and {} mask flags do not form batch × (seq + 1) tokens and batch × seq flags",
                tokens.len(),
                loss_mask.len()
            ));
        }
        let seq = loss_mask.len() / rows;
        if let Some(bad_id) = tokens.iter().find(|&&t| t as usize >= self.vocab_size) {
            return bad(format!(
                "token id {bad_id} is outside the vocabulary of {}",
                self.vocab_size
            ));
        }
        let selected: Vec<u32> = (0..loss_mask.len() as u32)
            .filter(|&i| loss_mask[i as usize] != 0)
            .collect();
        if selected.is_empty() {
            return bad("the loss mask selects no position".into());
        }
        let mut inputs = Vec::with_capacity(rows * seq);
        let mut targets = Vec::with_capacity(rows * seq);
        for row in tokens.chunks(seq + 1) {
            inputs.extend_from_slice(&row[..seq]);
            targets.extend_from_slice(&row[1..]);
        }
        let selected_targets = selected.iter().map(|&i| targets[i as usize]).collect();
        let n = selected.len();
        Ok(Batch {
            inputs: Tensor::from_vec(inputs, (rows, seq), &Device::Cpu)?,
            selected: Tensor::from_vec(selected, n, &Device::Cpu)?,
            selected_targets,
        })
    }
}

fn to_f32_vec(t: &Tensor) -> Result<Vec<f32>, ReferenceError> {
    Ok(t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?)
}
