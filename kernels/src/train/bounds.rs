//! What a job may ask for: the shape limits the integer ops' exactness bounds imply, and a memory estimate of one
//! step, checked before training so that a bad spec is a clear error instead of an overflow deep inside a step.
//!
//! The limits, each from the op whose arithmetic needs it:
//! - tokens per step (batch rows × sequence length) ≤ 2^16: the LoRA weight gradient sums one 23 × 23-bit product
//!   per token exactly in i64 ([`crate::ops::exact::at_b`]);
//! - sequence length ≤ the positions the model's RoPE table was built for;
//! - head width ≤ 256 (attention's score products, [`crate::ops::attention`]);
//! - RMSNorm widths (the model width, and for BitNet the MLP width) ≤ 2^15 ([`crate::ops::rmsnorm`]);
//! - LoRA input widths ≤ 2^16 (the branch's exact sums, [`crate::ops::exact`]);
//! - the LM head's backward reduces over the vocabulary in int8: vocabulary ≤ [`MAX_K_I8`];
//! - rank between 1 and the narrower side of every adapted projection, and `alpha / rank` a representable
//!   multiplier.

use super::step::TrainConfig;
use crate::{
    cpu::MAX_K_I8,
    fixed::scale::Multiplier,
    model::{ActivationMemory, Architecture, BaseQuant, HEAD_CHUNK, LoraTarget, ModelConfig},
};
use thiserror::Error;

/// Most tokens one step may hold.
pub const MAX_STEP_TOKENS: usize = 1 << 16;
/// Widest attention head.
pub const MAX_HEAD_DIM: usize = 256;
/// Widest RMSNorm row.
pub const MAX_NORM_WIDTH: usize = 1 << 15;
/// Widest LoRA input.
pub const MAX_LORA_INPUT: usize = 1 << 16;

/// A job that cannot run as asked.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum SpecError {
    /// A size outside what the integer ops handle exactly.
    #[error("{what} is {value}: {why}")]
    OutOfRange {
        /// What was asked for.
        what: &'static str,
        /// Its value.
        value: u64,
        /// The limit and what to do.
        why: String,
    },
    /// One step would need more memory than the budget.
    #[error(
        "one step needs about {needed} bytes ({estimate}), more than the budget of {budget} bytes: lower the batch \
         size, the sequence length or the rank"
    )]
    Memory {
        /// Estimated bytes.
        needed: u64,
        /// The budget.
        budget: u64,
        /// The estimate's parts.
        estimate: MemoryEstimate,
    },
}

/// The rows and length of a step's batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepShape {
    /// Sequences per step.
    pub batch: usize,
    /// Tokens per sequence (targets).
    pub seq_len: usize,
}

/// A planning estimate of one training step's peak memory, in bytes (what the CPU backend holds; not committed).
///
/// It counts the packed base weights with their transposed copies, the LoRA state with its gradients, the
/// activations the backward pass keeps ([`ActivationMemory`]), and the working memory of one block's forward or
/// backward pass and of one chunk of logits. It is meant to be within a small factor of the real peak, enough to
/// refuse a job that cannot fit and to choose between keeping and recomputing activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Frozen base: embedding, head and projections.
    pub base: u64,
    /// LoRA master weights, both AdamW moments and the gradients.
    pub state: u64,
    /// Activations kept for the backward pass, and the working memory of one block and one head chunk.
    pub activations: u64,
    /// What the estimate assumes the forward pass keeps.
    pub memory: ActivationMemory,
}

impl MemoryEstimate {
    /// All parts together.
    pub fn total(&self) -> u64 {
        self.base + self.state + self.activations
    }
}

impl std::fmt::Display for MemoryEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |b: u64| b as f64 / f64::from(1 << 20);
        write!(
            f,
            "base {:.0} MiB + LoRA state {:.1} MiB + activations {:.0} MiB ({})",
            mib(self.base),
            mib(self.state),
            mib(self.activations),
            self.memory.name()
        )
    }
}

fn out_of_range(what: &'static str, value: usize, why: String) -> SpecError {
    SpecError::OutOfRange {
        what,
        value: value as u64,
        why,
    }
}

/// Checks a job's shapes against the integer ops' bounds (listed in the module docs); `rope_positions` is the
/// longest sequence the loaded model covers.
pub fn check_shapes(
    model: &ModelConfig,
    train: &TrainConfig,
    shape: StepShape,
    rope_positions: usize,
) -> Result<(), SpecError> {
    let StepShape { batch, seq_len } = shape;
    if batch == 0 {
        return Err(out_of_range(
            "the batch size",
            0,
            "it must be at least 1".into(),
        ));
    }
    if seq_len == 0 {
        return Err(out_of_range(
            "the sequence length",
            0,
            "it must be at least 1".into(),
        ));
    }
    if seq_len > rope_positions {
        return Err(out_of_range(
            "the sequence length",
            seq_len,
            format!("the model was loaded for at most {rope_positions} positions"),
        ));
    }
    let tokens = batch.saturating_mul(seq_len);
    if tokens > MAX_STEP_TOKENS {
        return Err(out_of_range(
            "batch size × sequence length",
            tokens,
            format!(
                "a step holds at most {MAX_STEP_TOKENS} tokens (exact LoRA gradient sums); lower either, or take more steps"
            ),
        ));
    }
    if model.head_dim() > MAX_HEAD_DIM {
        return Err(out_of_range(
            "the attention head width",
            model.head_dim(),
            format!("attention handles heads up to {MAX_HEAD_DIM} wide"),
        ));
    }
    let mut norms = vec![("the model width", model.d_model)];
    if model.architecture == Architecture::Bitnet {
        norms.push(("the MLP width (BitNet's sub-norm)", model.d_ff));
    }
    for (what, width) in norms {
        if width > MAX_NORM_WIDTH {
            return Err(out_of_range(
                what,
                width,
                format!("RMSNorm rows are at most {MAX_NORM_WIDTH} wide"),
            ));
        }
    }
    if model.vocab_size > MAX_K_I8 {
        return Err(out_of_range(
            "the vocabulary",
            model.vocab_size,
            format!("the LM head's backward pass reduces over at most {MAX_K_I8} tokens"),
        ));
    }
    if train.targets.is_empty() {
        return Err(out_of_range(
            "the number of LoRA targets",
            0,
            "adapt at least one projection".into(),
        ));
    }
    for &t in &train.targets {
        let (_, inp) = t.shape(model);
        if inp > MAX_LORA_INPUT {
            return Err(out_of_range(
                "a LoRA input width",
                inp,
                format!("{} is wider than {MAX_LORA_INPUT}", t.hf_name()),
            ));
        }
    }
    let (narrowest, limit) = train
        .targets
        .iter()
        .map(|t| {
            let (out, inp) = t.shape(model);
            (t.hf_name(), out.min(inp))
        })
        .min_by_key(|&(_, w)| w)
        .unwrap_or(("", 0));
    if train.rank == 0 || train.rank > limit {
        return Err(out_of_range(
            "the LoRA rank",
            train.rank,
            format!("it must be between 1 and {limit} (the narrower side of {narrowest})"),
        ));
    }
    if Multiplier::from_f64(train.alpha / train.rank as f64).is_err() {
        return Err(out_of_range(
            "the LoRA rank",
            train.rank,
            format!(
                "alpha / rank = {} / {} must be a positive number in [2^-31, 2^31)",
                train.alpha, train.rank
            ),
        ));
    }
    Ok(())
}

/// The memory one step of `train` on a model of `model` quantized by `quant` takes for batches of `shape`, when
/// the forward pass keeps activations as `memory` says.
pub fn memory_estimate(
    model: &ModelConfig,
    quant: BaseQuant,
    train: &TrainConfig,
    shape: StepShape,
    memory: ActivationMemory,
) -> MemoryEstimate {
    let n = |v: usize| v as u64;
    let (d, f, vocab) = (n(model.d_model), n(model.d_ff), n(model.vocab_size));
    let kv = n(model.n_kv_heads * model.head_dim());
    // Packed weights and their transposes: 2 bits per ternary value, 1 byte per int8 value.
    let bits = match quant {
        BaseQuant::TernaryPerTensor | BaseQuant::TernaryPerRow | BaseQuant::TernaryPerGroup(_) => 2,
        BaseQuant::Int8PerRow | BaseQuant::Int8Q8_0 => 8,
    };
    let projections: u64 = LoraTarget::ALL
        .iter()
        .map(|t| {
            let (o, i) = t.shape(model);
            n(o) * n(i)
        })
        .sum();
    let head = if model.tied_embeddings { 1 } else { 2 };
    let base = 2 * (n(model.n_layers) * projections * bits / 8 + head * vocab * d);
    // Per adapter: A and B (rank × (in + out) words) as masters, two moments and a gradient.
    let lora: u64 = train
        .targets
        .iter()
        .map(|t| {
            let (o, i) = t.shape(model);
            n(train.rank) * n(o + i)
        })
        .sum();
    let state = n(model.n_layers) * lora * 4 * 4;
    // A block's intermediates per token, as 4-byte mantissas: norm outputs, q/k/v, the attention output and the
    // residual (7 × d_model with the input), the MLP's gate, up, activation and its normed form (4 × d_ff), and
    // the LoRA branches' rank-wide inputs; plus one exponent per row of each.
    let tokens = n(shape.batch) * n(shape.seq_len);
    let per_token = 7 * d + 2 * kv + 4 * f + n(train.targets.len() * train.rank) + 16;
    let trace = tokens * per_token * 4;
    let block_input = tokens * (d + 1) * 4;
    // Working memory while one block runs: the widest product in i64 with its operands split into digits, and
    // per sequence and head the attention scores.
    let working = tokens * 2 * f * 8
        + n(shape.batch) * n(model.n_heads) * n(shape.seq_len) * n(shape.seq_len) * 8;
    let logits = n(HEAD_CHUNK.min(shape.batch * shape.seq_len)) * vocab * 8 * 2;
    let layers = n(model.n_layers);
    let kept = match memory {
        ActivationMemory::Keep => layers * (trace + block_input),
        ActivationMemory::Recompute => layers * block_input + trace,
    };
    MemoryEstimate {
        base,
        state,
        activations: kept + working.max(logits),
        memory,
    }
}

/// [`check_shapes`], then the memory plan: activations kept when that step's estimate fits `budget` bytes (or
/// there is no budget), else recomputed; an error when even that exceeds the budget. Returns the chosen estimate.
pub fn check_spec(
    model: &ModelConfig,
    quant: BaseQuant,
    train: &TrainConfig,
    shape: StepShape,
    rope_positions: usize,
    budget: Option<u64>,
) -> Result<MemoryEstimate, SpecError> {
    check_shapes(model, train, shape, rope_positions)?;
    let estimate = |memory| memory_estimate(model, quant, train, shape, memory);
    let keep = estimate(ActivationMemory::Keep);
    let Some(budget) = budget else {
        return Ok(keep);
    };
    if keep.total() <= budget {
        return Ok(keep);
    }
    let recompute = estimate(ActivationMemory::Recompute);
    if recompute.total() <= budget {
        return Ok(recompute);
    }
    Err(SpecError::Memory {
        needed: recompute.total(),
        budget,
        estimate: recompute,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{AdamW, LrSchedule};

    fn train(rank: usize) -> TrainConfig {
        TrainConfig {
            rank,
            alpha: 16.0,
            targets: vec![LoraTarget::Q, LoraTarget::V],
            optimizer: AdamW::default(),
            schedule: LrSchedule {
                peak: 1e-3,
                min: 1e-4,
                warmup_steps: 0,
                total_steps: 10,
            },
        }
    }

    fn what(err: SpecError) -> &'static str {
        match err {
            SpecError::OutOfRange { what, .. } => what,
            SpecError::Memory { .. } => "memory",
        }
    }

    #[test]
    fn every_bound_is_a_clear_error() {
        let smol = ModelConfig::smollm2_135m();
        let shape = |batch, seq_len| StepShape { batch, seq_len };
        let check = |m: &ModelConfig, t: &TrainConfig, s: StepShape| check_shapes(m, t, s, 4096);
        assert_eq!(check(&smol, &train(8), shape(8, 512)), Ok(()));
        assert_eq!(
            what(check(&smol, &train(8), shape(0, 512)).unwrap_err()),
            "the batch size"
        );
        assert_eq!(
            what(check(&smol, &train(8), shape(1, 0)).unwrap_err()),
            "the sequence length"
        );
        let err = check(&smol, &train(8), shape(1, 5000)).unwrap_err();
        assert!(err.to_string().contains("4096 positions"), "{err}");
        let err = check(&smol, &train(8), shape(32, 4096)).unwrap_err();
        assert_eq!(what(err.clone()), "batch size × sequence length");
        assert!(err.to_string().contains("131072"), "{err}");
        for rank in [0, 193] {
            // K and V are 192 wide in SmolLM2.
            let err = check(&smol, &train(rank), shape(1, 64)).unwrap_err();
            assert!(err.to_string().contains("between 1 and 192"), "{err}");
        }
        let mut bad_alpha = train(8);
        bad_alpha.alpha = 0.0;
        assert_eq!(
            what(check(&smol, &bad_alpha, shape(1, 64)).unwrap_err()),
            "the LoRA rank"
        );
        let mut no_targets = train(8);
        no_targets.targets.clear();
        assert_eq!(
            what(check(&smol, &no_targets, shape(1, 64)).unwrap_err()),
            "the number of LoRA targets"
        );
        let wide_heads = ModelConfig {
            n_heads: 1,
            n_kv_heads: 1,
            ..smol.clone()
        };
        assert_eq!(
            what(check(&wide_heads, &train(8), shape(1, 64)).unwrap_err()),
            "the attention head width"
        );
        let wide = ModelConfig {
            d_model: 1 << 16,
            n_heads: 512,
            n_kv_heads: 512,
            ..smol.clone()
        };
        assert_eq!(
            what(check(&wide, &train(8), shape(1, 64)).unwrap_err()),
            "the model width"
        );
        let bitnet = ModelConfig {
            architecture: Architecture::Bitnet,
            d_ff: 1 << 16,
            ..smol.clone()
        };
        assert_eq!(
            what(check(&bitnet, &train(8), shape(1, 64)).unwrap_err()),
            "the MLP width (BitNet's sub-norm)"
        );
        let mut down = train(8);
        down.targets = vec![LoraTarget::Down];
        let llama_wide_mlp = ModelConfig {
            d_ff: (1 << 16) + 1,
            ..smol.clone()
        };
        assert_eq!(
            what(check(&llama_wide_mlp, &down, shape(1, 64)).unwrap_err()),
            "a LoRA input width"
        );
        let big_vocab = ModelConfig {
            vocab_size: MAX_K_I8 + 1,
            ..smol
        };
        assert_eq!(
            what(check(&big_vocab, &train(8), shape(1, 64)).unwrap_err()),
            "the vocabulary"
        );
    }

    #[test]
    fn the_memory_estimate_grows_with_the_step_and_meets_its_budget() {
        let smol = ModelConfig::smollm2_135m();
        let at = |batch, seq_len| {
            memory_estimate(
                &smol,
                BaseQuant::Int8PerRow,
                &train(8),
                StepShape { batch, seq_len },
                ActivationMemory::Keep,
            )
        };
        let small = at(2, 128);
        assert!(at(4, 128).activations > small.activations);
        assert!(at(2, 256).activations > 2 * small.activations - small.activations / 2);
        assert_eq!(at(4, 128).base, small.base);
        // Int8 projections and embedding (≈ 134M int8 values, twice): a few hundred MB; ternary packs 4× tighter.
        assert!((200 << 20..600 << 20).contains(&small.base), "{small}");
        let ternary = memory_estimate(
            &smol,
            BaseQuant::TernaryPerRow,
            &train(8),
            StepShape {
                batch: 2,
                seq_len: 128,
            },
            ActivationMemory::Keep,
        );
        assert!(ternary.base < small.base);
        let shape = StepShape {
            batch: 2,
            seq_len: 128,
        };
        let fits = check_spec(
            &smol,
            BaseQuant::Int8PerRow,
            &train(8),
            shape,
            4096,
            Some(small.total()),
        );
        assert_eq!(fits, Ok(small));
        // A budget just short of keeping every block's activations recomputes them instead.
        let recompute = memory_estimate(
            &smol,
            BaseQuant::Int8PerRow,
            &train(8),
            shape,
            ActivationMemory::Recompute,
        );
        assert!(
            recompute.activations < small.activations / 2,
            "{recompute} vs {small}"
        );
        let fallback = check_spec(
            &smol,
            BaseQuant::Int8PerRow,
            &train(8),
            shape,
            4096,
            Some(small.total() - 1),
        );
        assert_eq!(fallback, Ok(recompute));
        let err = check_spec(
            &smol,
            BaseQuant::Int8PerRow,
            &train(8),
            shape,
            4096,
            Some(recompute.total() - 1),
        )
        .unwrap_err();
        assert!(matches!(err, SpecError::Memory { .. }), "{err}");
        assert!(err.to_string().contains("lower the batch size"), "{err}");
    }
}
