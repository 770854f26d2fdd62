//! What can go wrong in the worker's commands; every message says what was wrong and what to do.

use std::path::PathBuf;

use tern_kernels::{
    cpu::CpuError,
    data::DataError,
    export::ExportError,
    io::gguf::GgufError,
    model::ModelError,
    tokenizer::TokenizerError,
    train::{SpecError, StateError, StepError},
};
use thiserror::Error;

/// An error from a worker command.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// A file or directory could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`reading`, `writing`, …).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// An input file does not exist.
    #[error("{what} {path} does not exist: {hint}")]
    Missing {
        /// What the file was meant to be.
        what: &'static str,
        /// The path given.
        path: PathBuf,
        /// Where the right file comes from.
        hint: &'static str,
    },
    /// A setting is out of range or inconsistent.
    #[error("invalid setting: {0}")]
    Config(String),
    /// The model file cannot be read as GGUF.
    #[error("model file {path}: {source}")]
    Gguf {
        /// The model file.
        path: PathBuf,
        /// What the reader found.
        source: GgufError,
    },
    /// The model file is not a model Tern trains.
    #[error("model file {path}: {source}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// Why it cannot become a base model.
        source: ModelError,
    },
    /// The model file has no usable tokenizer.
    #[error(
        "model file {path} has no usable tokenizer ({source}): Tern needs a GGUF that embeds its byte-level BPE tokenizer"
    )]
    Tokenizer {
        /// The model file.
        path: PathBuf,
        /// What is wrong with the tokenizer.
        source: TokenizerError,
    },
    /// The model file does not fit what it is used with.
    #[error("wrong model: {0}")]
    WrongModel(String),
    /// The dataset cannot be turned into batches.
    #[error("dataset {path}: {source}")]
    Data {
        /// The dataset file or directory.
        path: PathBuf,
        /// What is wrong with it.
        source: DataError,
    },
    /// A checkpoint cannot be decoded.
    #[error("checkpoint {path}: {source}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// Why it does not decode.
        source: StateError,
    },
    /// A checkpoint decodes but belongs to another run, model or configuration.
    #[error("checkpoint {path} does not fit this run: {detail}")]
    CheckpointMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// What differs.
        detail: String,
    },
    /// The output directory holds a run made with other settings or inputs.
    #[error(
        "output directory {dir} holds a run made with other settings: {differences}; use a new --output, or the run's own settings to resume it"
    )]
    RunMismatch {
        /// The output directory.
        dir: PathBuf,
        /// The settings that differ, `name: recorded -> now`.
        differences: String,
    },
    /// Training would overwrite an existing run.
    #[error(
        "output directory {dir} already holds a run (checkpoints up to step {step}): pass --resume to continue it, or choose another --output"
    )]
    ExistingRun {
        /// The output directory.
        dir: PathBuf,
        /// Its latest checkpoint step.
        step: u32,
    },
    /// No checkpoint where one was expected.
    #[error("no checkpoint in {0}: run `worker finetune` first, or give a checkpoint file")]
    NoCheckpoint(PathBuf),
    /// The run's shape exceeds what the integer step handles exactly, or this machine's memory.
    #[error("this run cannot start: {0}")]
    Spec(#[from] SpecError),
    /// A training step or an evaluation failed.
    #[error("training: {0}")]
    Step(#[from] StepError),
    /// The CPU backend refused its settings.
    #[error("CPU backend: {0}")]
    Cpu(#[from] CpuError),
    /// Exporting the adapter failed.
    #[error("exporting the adapter: {0}")]
    Export(#[from] ExportError),
    /// Writing a GGUF file failed.
    #[error("writing {path}: {source}")]
    GgufWrite {
        /// The output file.
        path: PathBuf,
        /// The writer's error.
        source: GgufError,
    },
    /// A JSON record could not be read or written.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        source: serde_json::Error,
    },
}

impl WorkerError {
    /// An I/O error while `action` on `path`, for `map_err`.
    pub fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}

/// The worker's result type.
pub type Result<T, E = WorkerError> = std::result::Result<T, E>;
