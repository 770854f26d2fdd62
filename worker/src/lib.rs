//! Tern's device agent. For now it holds the commands that need no marketplace and no chain:
//!
//! | command | what it does | module |
//! |---|---|---|
//! | `worker finetune` | a LoRA run on the local CPU: checkpoints, resume, PEFT and GGUF adapters, a JSON summary | [`finetune`] |
//! | `worker eval` | validation perplexity of the base with and without an adapter checkpoint | [`eval`] |
//! | `worker convert` | the quantized (e.g. ternarized) base written as GGUF, with base perplexity per quantization | [`convert`] |
//! | `worker generate` | text from a prompt, with or without an adapter | [`generate`] |
//!
//! The binary (`src/main.rs`) is the glue: flags, environment, progress bars and logs. Everything it runs is here,
//! so the marketplace agent (`worker run`, DESIGN.md §5) can reuse the same run directory, checkpoints and exports.
//!
//! ```no_run
//! use tern_worker::{config::FinetuneConfig, finetune::{Outcome, RunControl, finetune}};
//!
//! let config = FinetuneConfig { steps: 20, output: "runs/demo".into(), ..FinetuneConfig::default() };
//! let control = RunControl { resume: true, stop_at: None };
//! if let Outcome::Finished(summary) = finetune(&config, control, &mut |_event| {})? {
//!     println!("state hash {}, adapter hash {}", summary.state_hash, summary.adapter_hash);
//! }
//! # Ok::<(), tern_worker::error::WorkerError>(())
//! ```

pub mod checkpoint;
pub mod config;
pub mod convert;
pub mod error;
pub mod eval;
pub mod finetune;
pub mod generate;
pub mod inputs;
pub mod names;
