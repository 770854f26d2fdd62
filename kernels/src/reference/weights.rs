//! The frozen base model's tensors as plain f32 arrays, keyed by GGUF tensor name.

use std::collections::BTreeMap;

use crate::io::gguf::Gguf;
use crate::model::{Architecture, LoraTarget, ModelConfig};
use crate::rng::Key;

use super::error::ReferenceError;

/// One tensor: its shape (outermost first) and its row-major values.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseTensor {
    /// Dimensions, outermost first: a linear layer is `[out_features, in_features]`, a norm `[width]`, the token
    /// embedding `[vocab, d_model]`. This is GGUF's `ne` reversed (the memory layout is the same).
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f32>,
}

/// The base model's tensors by GGUF name (`token_embd.weight`, `blk.0.attn_q.weight`, …), dequantized to f32.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BaseWeights {
    tensors: BTreeMap<String, BaseTensor>,
}

impl BaseWeights {
    /// No tensors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a tensor. Fails when `data` does not hold exactly the values `shape` implies.
    pub fn insert(
        &mut self,
        name: impl Into<String>,
        shape: Vec<usize>,
        data: Vec<f32>,
    ) -> Result<(), ReferenceError> {
        let name = name.into();
        let expected = shape.iter().product::<usize>();
        if data.len() != expected {
            return Err(ReferenceError::LengthMismatch {
                name,
                shape,
                expected,
                got: data.len(),
            });
        }
        self.tensors.insert(name, BaseTensor { shape, data });
        Ok(())
    }

    /// Every tensor of a GGUF file, dequantized to f32, with its shape outermost first.
    pub fn from_gguf(gguf: &Gguf) -> Result<Self, ReferenceError> {
        let mut weights = Self::new();
        for info in gguf.tensors() {
            let shape = info.shape.iter().rev().map(|&d| d as usize).collect();
            let data = gguf
                .dequantize(&info.name)
                .map_err(|e| ReferenceError::Gguf(e.to_string()))?;
            weights.insert(info.name.clone(), shape, data)?;
        }
        Ok(weights)
    }

    /// The tensor called `name`, if present.
    pub fn get(&self, name: &str) -> Option<&BaseTensor> {
        self.tensors.get(name)
    }

    /// Tensor names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// The tensor `name`, checked against the shape the configuration implies.
    pub(crate) fn require(
        &self,
        config: &ModelConfig,
        name: &str,
        expected: &[usize],
    ) -> Result<&BaseTensor, ReferenceError> {
        let tensor = self
            .get(name)
            .ok_or_else(|| ReferenceError::MissingTensor {
                name: name.into(),
                architecture: config.architecture,
            })?;
        if tensor.shape != expected {
            return Err(ReferenceError::ShapeMismatch {
                name: name.into(),
                got: tensor.shape.clone(),
                expected: expected.to_vec(),
            });
        }
        Ok(tensor)
    }

    /// Random weights with the shapes of `config`, a pure function of `key` (for tests and speed measurements).
    ///
    /// Linear weights are uniform in `±1/√(in_features)`, the embedding in `±0.5`, norms are 1. The LM head is tied
    /// (no `output.weight`).
    pub fn random(config: &ModelConfig, key: Key) -> Self {
        let mut weights = Self::new();
        for (index, (name, shape)) in expected_tensors(config).into_iter().enumerate() {
            let len = shape.iter().product::<usize>();
            let data = if shape.len() == 1 {
                vec![1.0; len]
            } else {
                // The embedding doubles as the tied LM head after an RMSNorm (unit-RMS rows): at ±1/√d its logits
                // could never be confident, so it gets a fixed, wider range.
                let bound = if name == "token_embd.weight" {
                    0.5
                } else {
                    1.0 / (shape[1] as f64).sqrt()
                };
                (0..len)
                    .map(|i| {
                        let unit =
                            f64::from(key.word(index as u32, i as u32, 0)) / f64::from(u32::MAX);
                        ((unit * 2.0 - 1.0) * bound) as f32
                    })
                    .collect()
            };
            weights.tensors.insert(name, BaseTensor { shape, data });
        }
        weights
    }
}

/// Name and shape of every tensor a model of `config` needs (without the optional `output.weight`).
pub fn expected_tensors(config: &ModelConfig) -> Vec<(String, Vec<usize>)> {
    let d = config.d_model;
    let mut tensors = vec![("token_embd.weight".to_string(), vec![config.vocab_size, d])];
    for layer in 0..config.n_layers {
        let norm = |stem: &str, width: usize| (format!("blk.{layer}.{stem}.weight"), vec![width]);
        tensors.push(norm("attn_norm", d));
        tensors.push(norm("ffn_norm", d));
        if config.architecture == Architecture::Bitnet {
            tensors.push(norm("attn_sub_norm", d));
            tensors.push(norm("ffn_sub_norm", config.d_ff));
        }
        for target in LoraTarget::ALL {
            let (out, inp) = target.shape(config);
            tensors.push((
                format!("blk.{layer}.{}.weight", target.gguf_name()),
                vec![out, inp],
            ));
        }
    }
    tensors.push(("output_norm.weight".to_string(), vec![d]));
    tensors
}
