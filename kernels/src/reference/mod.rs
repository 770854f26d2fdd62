//! The f32 reference LoRA trainer: Tern's quality oracle (feature `reference`).
//!
//! The same decoder (llama or BitNet family, [`ModelConfig`](crate::model::ModelConfig)) and the same LoRA as the
//! integer trainer, in floating point with candle's autograd. Both trainers take the same base, the same initial A,
//! the same batches in the same order, and the same hyperparameters and [`LrSchedule`]; the integer trainer's
//! validation loss must come within 5% of this one's.
//!
//! The model: token embedding; per block `x += o(attn(rope(q(n)), rope(k(n)), v(n)))` with `n = RMSNorm(x)`,
//! causal GQA attention and RoPE on adjacent pairs `(x[2i], x[2i+1])` (GGUF's layout), then
//! `x += down(act(gate(n))·up(n))` with `n = RMSNorm(x)`, `act` SiLU (llama) or squared ReLU (BitNet); BitNet adds
//! an RMSNorm before `o` (`attn_sub_norm`) and before `down` (`ffn_sub_norm`). Then `output_norm` and the LM head
//! (`output.weight` when present, else the tied embedding). What is quantized where is listed in [`quantize`].
//!
//! ```no_run
//! use tern_kernels::model::{LoraTarget, ModelConfig};
//! use tern_kernels::reference::*;
//! use tern_kernels::rng::Key;
//!
//! let config = ModelConfig::smollm2_135m();
//! let weights = BaseWeights::random(&config, Key(1));
//! let lora = LoraSettings { rank: 8, alpha: 16.0, targets: vec![LoraTarget::Q, LoraTarget::V] };
//! let mut trainer = ReferenceTrainer::new(
//!     &config, &weights, Numerics::default(), &lora, uniform_a_init(Key(2)), OptimizerSettings::adamw(),
//! )?;
//! let schedule = LrSchedule { peak: 1e-3, min: 1e-4, warmup_steps: 10, total_steps: 100 };
//! let (tokens, mask) = (vec![1u32; 2 * 65], vec![1u8; 2 * 64]);
//! let loss = trainer.step(&tokens, &mask, schedule.lr(0) as f32)?;
//! # Ok::<(), ReferenceError>(())
//! ```

mod error;
mod frozen_linear;
mod head_loss;
mod lora;
mod model;
mod optimizer;
pub mod quantize;
mod rope;
mod trainer;
mod weights;

/// The schedule both trainers share.
pub use crate::train::LrSchedule;
pub use error::ReferenceError;
pub use lora::{LoraMatrix, LoraParam, LoraSettings, uniform_a_init};
pub use model::{Numerics, Precision};
pub use optimizer::OptimizerSettings;
pub use quantize::ActivationQuant;
pub use trainer::ReferenceTrainer;
pub use weights::{BaseTensor, BaseWeights, expected_tensors};
