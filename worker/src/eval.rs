//! `worker eval`: validation loss and perplexity of the base with and without an adapter, on the held-out split of
//! the run's dataset (the same split under the same seed, so no example the adapter trained on is counted).

use std::path::PathBuf;

use serde::Serialize;
use tern_kernels::{cpu::Cpu, train::Trainer};
use tracing::warn;

use crate::{
    checkpoint::{RunRecord, read_adapter},
    config::FinetuneConfig,
    error::{Result, WorkerError},
    finetune::{LossReport, validate},
    inputs::{ModelFile, hex, load_dataset},
};

/// What `worker eval` measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// The base alone.
    pub base: LossReport,
    /// The base with the adapter, when a checkpoint was given.
    pub adapter: Option<LossReport>,
    /// The checkpoint evaluated.
    pub checkpoint: Option<PathBuf>,
    /// Its step.
    pub checkpoint_step: Option<u32>,
    /// Validation examples in the split (of which the first `val_batches` batches were evaluated).
    pub validation_examples: usize,
}

/// Evaluates `checkpoint` (if any) against the base on the validation split `config` defines. `recorded` is the
/// run the checkpoint came from, when known: its model must be the one given.
pub fn eval(
    config: &FinetuneConfig,
    checkpoint: Option<PathBuf>,
    recorded: Option<&RunRecord>,
) -> Result<EvalReport> {
    config.validate()?;
    let model = ModelFile::open(&config.model)?;
    if let Some(r) = recorded
        && r.model_sha256 != hex(&model.sha256)
    {
        return Err(WorkerError::WrongModel(format!(
            "the checkpoint was trained on a model with sha256 {}, but {} has sha256 {}: pass the run's model with --model",
            r.model_sha256,
            config.model.display(),
            hex(&model.sha256)
        )));
    }
    let (dataset, dataset_sha) = load_dataset(config, &model)?;
    if let Some(r) = recorded
        && r.dataset_sha256 != hex(&dataset_sha)
    {
        warn!(
            dataset = %config.dataset.display(),
            "the dataset differs from the run's: its validation split is not the held-out one the run never trained on"
        );
    }
    let base = model.base(config.quant, config.seq_len)?;
    let cpu = match config.threads {
        0 => Cpu::new(),
        n => Cpu::new().with_threads(n)?,
    };
    let trainer = Trainer::new(&base, cpu, config.train_config(), config.key("rounding"));
    let state = match &checkpoint {
        Some(path) => Some(read_adapter(path, &base.config)?),
        None => None,
    };
    let (base_loss, adapter_loss) =
        validate(&trainer, &dataset, state.as_ref(), config.val_batches)?;
    Ok(EvalReport {
        base: base_loss,
        adapter: adapter_loss,
        checkpoint_step: state.as_ref().map(|s| s.step),
        checkpoint,
        validation_examples: dataset.validation_examples().len(),
    })
}
