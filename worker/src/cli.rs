//! The command line: subcommands, flags and their environment variables.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tern_kernels::{io::gguf::GgmlType, model::BaseQuant};
use tern_worker::{
    config::{DatasetFormat, FinetuneConfig},
    names,
};

/// Tern's device agent: LoRA fine-tuning of llama-family models on this machine.
#[derive(Debug, Parser)]
#[command(name = "worker", version, about, long_about = None)]
pub struct Cli {
    /// More log output (-v: debug, -vv: trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors in the log.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands; a flag given twice takes its last value.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a LoRA adapter on a dataset, with checkpoints, resume and adapter export; needs no marketplace.
    #[command(args_override_self = true)]
    Finetune(FinetuneArgs),
    /// Validation loss and perplexity of the base with and without an adapter checkpoint.
    #[command(args_override_self = true)]
    Eval(EvalArgs),
    /// Write the quantized (e.g. ternarized) base as a GGUF model and measure each quantization's perplexity.
    #[command(args_override_self = true)]
    Convert(ConvertArgs),
    /// Generate text from a prompt with the base model and optionally an adapter checkpoint.
    #[command(args_override_self = true)]
    Generate(GenerateArgs),
}

/// Run settings: each overrides the configuration file; unset ones keep the file's value or the default.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// TOML file with any of the settings below (keys as the flags with underscores: seq_len, lr_peak, …).
    #[arg(long, env = "TERN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Base model, a GGUF file with its tokenizer [default: $TERN_CACHE_DIR/models/SmolLM2-135M-Instruct.Q4_1.gguf].
    #[arg(long, env = "TERN_MODEL")]
    pub model: Option<PathBuf>,
    /// Training data: a .txt file, a directory of .txt files, or chat .jsonl [default: the Shakespeare corpus].
    #[arg(long, env = "TERN_DATASET")]
    pub dataset: Option<PathBuf>,
    /// How to read the dataset: auto, text or chat [default: auto].
    #[arg(long, env = "TERN_DATASET_FORMAT", value_parser = DatasetFormat::parse)]
    pub dataset_format: Option<DatasetFormat>,
    /// Output directory for checkpoints, the adapter and summary.json [default: runs/finetune].
    #[arg(short, long, env = "TERN_OUTPUT")]
    pub output: Option<PathBuf>,
    /// Base quantization: int8-row, int8-q8_0, ternary-row, ternary-tensor, ternary-group(-N) [default: int8-row].
    #[arg(long, env = "TERN_QUANT", value_parser = names::parse_quant)]
    pub quant: Option<BaseQuant>,
    /// Training steps [default: 100].
    #[arg(long, env = "TERN_STEPS")]
    pub steps: Option<u32>,
    /// Tokens per training sequence [default: 128].
    #[arg(long, env = "TERN_SEQ_LEN")]
    pub seq_len: Option<usize>,
    /// Sequences per step [default: 4].
    #[arg(long, env = "TERN_BATCH_SIZE")]
    pub batch_size: Option<usize>,
    /// LoRA rank [default: 8].
    #[arg(long, env = "TERN_RANK")]
    pub rank: Option<usize>,
    /// LoRA alpha [default: 16].
    #[arg(long, env = "TERN_ALPHA")]
    pub alpha: Option<f64>,
    /// LoRA targets, comma-separated from q,k,v,o,gate,up,down, or `all` [default: q,k,v,o].
    #[arg(long, env = "TERN_TARGETS")]
    pub targets: Option<String>,
    /// Peak learning rate [default: 1e-3].
    #[arg(long, env = "TERN_LR_PEAK")]
    pub lr_peak: Option<f64>,
    /// Final learning rate of the cosine decay [default: 1e-4].
    #[arg(long, env = "TERN_LR_MIN")]
    pub lr_min: Option<f64>,
    /// Warmup steps [default: 10].
    #[arg(long, env = "TERN_WARMUP_STEPS")]
    pub warmup_steps: Option<u32>,
    /// AdamW weight decay [default: 0].
    #[arg(long, env = "TERN_WEIGHT_DECAY")]
    pub weight_decay: Option<f64>,
    /// Seed of initialisation, data order and rounding [default: 0].
    #[arg(long, env = "TERN_SEED")]
    pub seed: Option<u64>,
    /// Validation share in thousandths [default: 50].
    #[arg(long, env = "TERN_VALIDATION_PER_MILLE")]
    pub validation_per_mille: Option<u32>,
    /// Checkpoint interval in steps [default: 25].
    #[arg(long, env = "TERN_CHECKPOINT_EVERY")]
    pub checkpoint_every: Option<u32>,
    /// Validation batches to evaluate, 0 for all [default: 8].
    #[arg(long, env = "TERN_VAL_BATCHES")]
    pub val_batches: Option<usize>,
    /// CPU threads, 0 for all cores [default: 0].
    #[arg(long, env = "TERN_THREADS")]
    pub threads: Option<usize>,
    /// Memory a training step may plan for, in MiB: activations are kept when they fit, else recomputed (slower,
    /// same result) [default: 0, 3/4 of the available memory].
    #[arg(long, env = "TERN_MEMORY_LIMIT_MIB")]
    pub memory_limit_mib: Option<u64>,
}

impl RunArgs {
    /// `base`, then the configuration file, then these values.
    pub fn resolve(&self, base: FinetuneConfig) -> anyhow::Result<FinetuneConfig> {
        let mut c = match &self.config {
            Some(path) => FinetuneConfig::from_toml_file(path)?,
            None => base,
        };
        macro_rules! set {
            ($($field:ident),*) => { $(if let Some(v) = &self.$field { c.$field = v.clone(); })* };
        }
        set!(
            model,
            dataset,
            dataset_format,
            output,
            quant,
            steps,
            seq_len,
            batch_size,
            rank,
            alpha,
            lr_peak,
            lr_min,
            warmup_steps,
            weight_decay,
            seed,
            validation_per_mille,
            checkpoint_every,
            val_batches,
            threads,
            memory_limit_mib
        );
        if let Some(t) = &self.targets {
            c.targets = names::parse_targets(t).map_err(anyhow::Error::msg)?;
        }
        Ok(c)
    }
}

/// `worker finetune`.
#[derive(Debug, Args)]
pub struct FinetuneArgs {
    /// Settings.
    #[command(flatten)]
    pub run: RunArgs,
    /// Continue from the latest checkpoint in the output directory (the settings must match the run's).
    #[arg(long, env = "TERN_RESUME")]
    pub resume: bool,
    /// Stop when the state reaches this step (a checkpoint is written there); --resume continues the run.
    #[arg(long)]
    pub stop_at: Option<u32>,
    /// No progress bar (logs only).
    #[arg(long)]
    pub no_progress: bool,
}

/// `worker eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A checkpoint file (checkpoints/step-N.tstate) or a finetune output directory (its latest checkpoint); the
    /// run's settings come from its run.json. Without it only the base is measured.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Settings (override the run's).
    #[command(flatten)]
    pub run: RunArgs,
}

/// `worker convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Source model, a GGUF file [default: $TERN_CACHE_DIR/models/SmolLM2-135M-Instruct.Q4_1.gguf].
    #[arg(long, env = "TERN_MODEL")]
    pub model: Option<PathBuf>,
    /// Quantization to write: int8-row, int8-q8_0, ternary-row, ternary-tensor, ternary-group(-N).
    #[arg(long, default_value = "ternary-row", value_parser = names::parse_quant)]
    pub quant: BaseQuant,
    /// The GGUF file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// GGUF type of the projections: f32 (exact), f16, bf16, q8_0, tq1_0, tq2_0 (rows a multiple of 256).
    #[arg(long = "type", default_value = "f32", value_parser = names::parse_tensor_type)]
    pub tensor_type: GgmlType,
    /// A text file: print the base perplexity of every quantization on it.
    #[arg(long)]
    pub eval_text: Option<PathBuf>,
    /// Tokens per evaluated sequence.
    #[arg(long, default_value_t = 128)]
    pub seq_len: usize,
    /// Sequences evaluated, 0 for the whole text.
    #[arg(long, default_value_t = 16)]
    pub eval_sequences: usize,
    /// CPU threads, 0 for all cores.
    #[arg(long, env = "TERN_THREADS", default_value_t = 0)]
    pub threads: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `worker generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The prompt.
    #[arg(short, long)]
    pub prompt: String,
    /// Base model [default: the checkpoint's run's model, else SmolLM2-135M in the data cache].
    #[arg(long, env = "TERN_MODEL")]
    pub model: Option<PathBuf>,
    /// Base quantization [default: the checkpoint's run's, else int8-row].
    #[arg(long, value_parser = names::parse_quant)]
    pub quant: Option<BaseQuant>,
    /// An adapter: a checkpoint file or a finetune output directory (its latest checkpoint).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// The adapter's LoRA alpha [default: the checkpoint's run's].
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Wrap the prompt as a user turn in the model's chat template.
    #[arg(long)]
    pub chat: bool,
    /// Most new tokens.
    #[arg(long, default_value_t = 32)]
    pub max_tokens: usize,
    /// 0 for greedy decoding, else the sampling temperature.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// Candidates kept when sampling, 0 for all.
    #[arg(long, default_value_t = 40)]
    pub top_k: usize,
    /// Seed of the sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// CPU threads, 0 for all cores.
    #[arg(long, env = "TERN_THREADS", default_value_t = 0)]
    pub threads: usize,
    /// Also print the generated token ids.
    #[arg(long)]
    pub ids: bool,
}
