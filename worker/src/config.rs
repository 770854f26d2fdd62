//! The settings of a fine-tuning run: one struct, read from a TOML file, then environment variables, then flags
//! (each later source overrides the earlier), with defaults that train SmolLM2-135M on Shakespeare from the data
//! cache (`deploy/fetch-data.sh`).
//!
//! ```toml
//! model = ".tern/cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
//! dataset = "my-corpus/"          # a .txt file, a directory of .txt files, or chat .jsonl
//! output = "runs/my-adapter"
//! quant = "int8-row"              # or int8-q8_0, ternary-row, ternary-tensor, ternary-group
//! steps = 200
//! targets = ["q", "k", "v", "o"]
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tern_kernels::{
    model::{BaseQuant, LoraTarget},
    rng::Key,
    train::{AdamW, LrSchedule, TrainConfig},
};

use crate::{
    error::{Result, WorkerError},
    names,
};

/// The job id of a local run: keys are derived from it and the seed as a marketplace job's are from its id
/// (DESIGN.md §3.1), so a local run is reproducible from its settings alone.
pub const LOCAL_JOB_ID: [u8; 32] = [0; 32];

/// How the dataset file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DatasetFormat {
    /// `.jsonl` files are chat, anything else plain text (a directory: its `.txt` files).
    #[default]
    Auto,
    /// Plain text: a file, or a directory of `.txt` files.
    Text,
    /// Chat JSONL, one conversation per line, trained on the assistant's turns.
    Chat,
}

impl DatasetFormat {
    /// Parses `auto`, `text` or `chat`.
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "text" => Ok(Self::Text),
            "chat" | "jsonl" => Ok(Self::Chat),
            _ => Err(format!(
                "unknown dataset format `{s}`: use auto, text or chat"
            )),
        }
    }

    /// The format `path` is read in.
    pub fn resolve(self, path: &Path) -> Self {
        match self {
            Self::Auto if path.extension().is_some_and(|e| e == "jsonl") => Self::Chat,
            Self::Auto => Self::Text,
            other => other,
        }
    }
}

/// Everything a fine-tuning run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FinetuneConfig {
    /// The base model, a GGUF file with its tokenizer.
    pub model: PathBuf,
    /// The training data: a text file, a directory of `.txt` files, or chat JSONL.
    pub dataset: PathBuf,
    /// How to read `dataset`.
    pub dataset_format: DatasetFormat,
    /// Where checkpoints, the adapter and the summary go.
    pub output: PathBuf,
    /// How the base's projections are quantized.
    #[serde(with = "names::quant_serde")]
    pub quant: BaseQuant,
    /// Training steps `T`.
    pub steps: u32,
    /// Tokens per example (targets per row).
    pub seq_len: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// LoRA rank.
    pub rank: usize,
    /// LoRA alpha (the branch is scaled by `alpha / rank`).
    pub alpha: f64,
    /// Adapted projections.
    #[serde(with = "names::targets_serde")]
    pub targets: Vec<LoraTarget>,
    /// Learning rate after warmup.
    pub lr_peak: f64,
    /// Learning rate at the end of the cosine decay.
    pub lr_min: f64,
    /// Linear warmup steps.
    pub warmup_steps: u32,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// Seed of the LoRA initialisation, the data order and the stochastic rounding.
    pub seed: u64,
    /// Share of the examples held out for validation, in thousandths.
    pub validation_per_mille: u32,
    /// A checkpoint every this many steps (the last step always gets one).
    pub checkpoint_every: u32,
    /// Validation batches evaluated at the end (0: all of them).
    pub val_batches: usize,
    /// CPU threads (0: all cores).
    pub threads: usize,
    /// The memory one training step may plan for, in MiB (0: 3/4 of the memory available at start). Activations
    /// are kept for the backward pass when they fit, else recomputed (slower, the same bits); a step that does not
    /// fit even then is refused before training.
    pub memory_limit_mib: u64,
}

/// `MemAvailable` of `/proc/meminfo` in bytes, where the system has it.
fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The data cache of `deploy/fetch-data.sh`: `$TERN_CACHE_DIR`, else `.tern/cache` under the current directory.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("TERN_CACHE_DIR").map_or_else(|| PathBuf::from(".tern/cache"), PathBuf::from)
}

/// Checks a LoRA alpha: `alpha / rank` (rank up to 1024) must be a fixed-point multiplier, which covers
/// `[2^-32, 2^31)`, so alpha stays within `[1e-6, 1e6]`.
pub fn check_alpha(alpha: f64) -> Result<()> {
    if (1e-6..=1e6).contains(&alpha) {
        Ok(())
    } else {
        Err(WorkerError::Config(format!(
            "alpha {alpha} is outside [1e-6, 1e6]: use the LoRA alpha the adapter was trained with (often 2 × rank)"
        )))
    }
}

impl Default for FinetuneConfig {
    fn default() -> Self {
        let cache = cache_dir();
        Self {
            model: cache.join("models/SmolLM2-135M-Instruct.Q4_1.gguf"),
            dataset: cache.join("corpora/shakespeare"),
            dataset_format: DatasetFormat::Auto,
            output: PathBuf::from("runs/finetune"),
            quant: BaseQuant::Int8PerRow,
            steps: 100,
            seq_len: 128,
            batch_size: 4,
            rank: 8,
            alpha: 16.0,
            targets: vec![LoraTarget::Q, LoraTarget::K, LoraTarget::V, LoraTarget::O],
            lr_peak: 1e-3,
            lr_min: 1e-4,
            warmup_steps: 10,
            weight_decay: 0.0,
            seed: 0,
            validation_per_mille: 50,
            checkpoint_every: 25,
            val_batches: 8,
            threads: 0,
            memory_limit_mib: 0,
        }
    }
}

impl FinetuneConfig {
    /// Reads a TOML file; keys it leaves out keep their defaults, unknown keys are an error.
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(WorkerError::Missing {
                what: "configuration file",
                path: path.to_path_buf(),
                hint: "pass an existing TOML file with --config, or leave it out to use the defaults",
            });
        }
        let text = std::fs::read_to_string(path).map_err(WorkerError::io("reading", path))?;
        toml::from_str(&text)
            .map_err(|e| WorkerError::Config(format!("configuration file {}: {e}", path.display())))
    }

    /// Checks every setting on its own (what needs the model or the data is checked when they are loaded).
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(WorkerError::Config(m));
        if self.steps == 0 {
            return bad("steps is 0: train at least one step".into());
        }
        if self.seq_len == 0 || self.batch_size == 0 {
            return bad(format!(
                "seq_len {} and batch_size {} must both be positive",
                self.seq_len, self.batch_size
            ));
        }
        if self.rank == 0 || self.rank > 1024 {
            return bad(format!("rank {} is not in 1..=1024", self.rank));
        }
        check_alpha(self.alpha)?;
        if self.targets.is_empty() {
            return bad("no LoRA targets: name at least one of q, k, v, o, gate, up, down".into());
        }
        if !(self.lr_peak.is_finite() && self.lr_peak > 0.0 && self.lr_peak < 1.0) {
            return bad(format!("lr_peak {} must be in (0, 1)", self.lr_peak));
        }
        if !(self.lr_min.is_finite() && self.lr_min >= 0.0 && self.lr_min <= self.lr_peak) {
            return bad(format!(
                "lr_min {} must be in [0, lr_peak = {}]",
                self.lr_min, self.lr_peak
            ));
        }
        if !(self.weight_decay.is_finite() && (0.0..1.0).contains(&self.weight_decay)) {
            return bad(format!(
                "weight_decay {} must be in [0, 1)",
                self.weight_decay
            ));
        }
        if self.validation_per_mille >= 1000 {
            return bad(format!(
                "validation_per_mille {} leaves nothing for training: use a value below 1000",
                self.validation_per_mille
            ));
        }
        if self.checkpoint_every == 0 {
            return bad("checkpoint_every is 0: use a positive interval".into());
        }
        Ok(())
    }

    /// The trainer's settings.
    pub fn train_config(&self) -> TrainConfig {
        TrainConfig {
            rank: self.rank,
            alpha: self.alpha,
            targets: self.targets.clone(),
            optimizer: AdamW {
                weight_decay: self.weight_decay,
                ..AdamW::default()
            },
            schedule: LrSchedule {
                peak: self.lr_peak,
                min: self.lr_min,
                warmup_steps: self.warmup_steps,
                total_steps: self.steps,
            },
        }
    }

    /// The memory budget of one step in bytes: the configured limit, else 3/4 of the memory the system reports
    /// available, else (no report) 2 GiB.
    pub fn memory_budget(&self) -> u64 {
        const MIB: u64 = 1 << 20;
        if self.memory_limit_mib > 0 {
            return self.memory_limit_mib.saturating_mul(MIB);
        }
        available_memory().map_or(2048 * MIB, |bytes| bytes / 4 * 3)
    }

    /// The key of one random stream (`lora-init`, `data-order`, `rounding`).
    pub fn key(&self, purpose: &str) -> Key {
        Key::derive(&LOCAL_JOB_ID, purpose, self.seed)
    }

    /// The settings that decide the trace `S_0 … S_T` (besides the model and dataset bytes), as `(name, value)`:
    /// a checkpoint resumes only under the same values. Paths, threads and reporting do not count.
    pub fn trace_settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("quant", self.quant.name().to_owned()),
            (
                "dataset_format",
                format!("{:?}", self.dataset_format.resolve(&self.dataset)).to_lowercase(),
            ),
            ("steps", self.steps.to_string()),
            ("seq_len", self.seq_len.to_string()),
            ("batch_size", self.batch_size.to_string()),
            ("rank", self.rank.to_string()),
            ("alpha", self.alpha.to_string()),
            (
                "targets",
                self.targets
                    .iter()
                    .map(|&t| names::target_name(t))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("lr_peak", self.lr_peak.to_string()),
            ("lr_min", self.lr_min.to_string()),
            ("warmup_steps", self.warmup_steps.to_string()),
            ("weight_decay", self.weight_decay.to_string()),
            ("seed", self.seed.to_string()),
            (
                "validation_per_mille",
                self.validation_per_mille.to_string(),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_overrides_defaults_and_rejects_unknown_keys() {
        let c: FinetuneConfig =
            toml::from_str("steps = 7\nquant = \"ternary-row\"\ntargets = [\"v\", \"q\"]\n")
                .unwrap();
        assert_eq!(c.steps, 7);
        assert_eq!(c.quant, BaseQuant::TernaryPerRow);
        assert_eq!(c.targets, [LoraTarget::Q, LoraTarget::V]);
        assert_eq!(c.rank, FinetuneConfig::default().rank);
        assert!(toml::from_str::<FinetuneConfig>("stepz = 7").is_err());
        assert!(toml::from_str::<FinetuneConfig>("quant = \"int4\"").is_err());
        let mut bad = c.clone();
        bad.lr_min = 1.0;
        assert!(bad.validate().is_err());
        assert!(c.validate().is_ok());
    }

    #[test]
    fn the_example_file_states_the_defaults() {
        let example: FinetuneConfig =
            toml::from_str(include_str!("../finetune.example.toml")).unwrap();
        let defaults = FinetuneConfig::default();
        assert_eq!(
            FinetuneConfig {
                model: defaults.model.clone(),
                dataset: defaults.dataset.clone(),
                ..example
            },
            defaults
        );
    }
}
