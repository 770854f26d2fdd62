//! `worker finetune`: a whole LoRA run on the local CPU with no marketplace: checkpoints every few steps, resume
//! after a crash with the same state hashes, and the adapter exported at the end.

use std::time::Instant;

use serde::Serialize;
use tern_kernels::{
    cpu::Cpu,
    data::Dataset,
    export::{adapter_hash, export_gguf_lora, export_peft},
    model::BaseModel,
    train::{StepShape, TrainState, Trainer},
};
use tracing::info;

use crate::{
    checkpoint::{LogLine, RunDir, RunRecord, check_fits, read_checkpoint, write_atomic},
    config::FinetuneConfig,
    error::{Result, WorkerError},
    inputs::{ModelFile, hex, load_dataset},
};

/// What a run tells its observer (the command line draws a progress bar from it).
#[derive(Debug, Clone)]
pub enum Event {
    /// Training is about to start at `from_step` of `total`.
    Started {
        /// The first step to run.
        from_step: u32,
        /// Steps in the run.
        total: u32,
        /// Examples for training and for validation.
        train_examples: usize,
        /// Validation examples.
        validation_examples: usize,
    },
    /// A step finished.
    Step {
        /// Its log line.
        line: LogLine,
        /// Tokens per second over this invocation's steps so far.
        tokens_per_second: f64,
    },
    /// A checkpoint was written.
    Checkpoint {
        /// Its step.
        step: u32,
        /// Its state hash, hex.
        state_hash: String,
    },
    /// Training is done; the validation split is being evaluated.
    Evaluating,
}

/// A validation result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LossReport {
    /// Mean loss per target token.
    pub loss: f64,
    /// `exp(loss)`.
    pub perplexity: f64,
    /// Target tokens counted.
    pub tokens: usize,
}

impl LossReport {
    /// From a mean loss and its token count.
    pub fn new(loss: f64, tokens: usize) -> Self {
        Self {
            loss,
            perplexity: loss.exp(),
            tokens,
        }
    }
}

/// One written checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointEntry {
    /// Its step.
    pub step: u32,
    /// `sha256` of the file, hex.
    pub state_hash: String,
}

/// `summary.json`: what the run produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinetuneSummary {
    /// Steps in the run.
    pub steps: u32,
    /// The step this invocation started from (0 unless resumed).
    pub resumed_from: u32,
    /// Loss of the last step's batch.
    pub final_train_loss: Option<f64>,
    /// The base model on the validation batches.
    pub val_base: LossReport,
    /// Base plus adapter on the same batches.
    pub val_adapter: LossReport,
    /// `sha256(encode(S_T))`, hex.
    pub state_hash: String,
    /// `sha256(adapter_model.safetensors)`, hex: the adapter hash of DESIGN.md §3.2.
    pub adapter_hash: String,
    /// `sha256(adapter.gguf)`, hex.
    pub adapter_gguf_sha256: String,
    /// Every checkpoint in the output directory.
    pub checkpoints: Vec<CheckpointEntry>,
    /// The run's record (settings and input ids).
    pub run: RunRecord,
}

/// How one invocation of a run behaves (nothing here changes the trace).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunControl {
    /// Continue from the latest checkpoint in the output directory.
    pub resume: bool,
    /// Stop once the state reaches this step (with a checkpoint there), leaving the run to be resumed: for time-boxed
    /// sessions on a shared device.
    pub stop_at: Option<u32>,
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// All steps ran; the adapter and summary are written.
    Finished(Box<FinetuneSummary>),
    /// Stopped at `step` by [`RunControl::stop_at`]; `--resume` continues.
    Stopped {
        /// The step reached (a checkpoint holds it).
        step: u32,
        /// Its state hash, hex.
        state_hash: String,
    },
}

/// Runs (or, with `control.resume`, continues) the fine-tuning run `config` describes.
pub fn finetune(
    config: &FinetuneConfig,
    control: RunControl,
    observer: &mut dyn FnMut(Event),
) -> Result<Outcome> {
    let resume = control.resume;
    config.validate()?;
    let model = ModelFile::open(&config.model)?;
    let (dataset, dataset_sha) = load_dataset(config, &model)?;
    let record = RunRecord::new(config, &model.sha256, &dataset_sha);
    let run = RunDir::new(&config.output);
    let existing = run.checkpoints()?;
    let recorded = run.read_record()?;
    if let Some(recorded) = &recorded {
        let differences = recorded.differences(&record);
        if resume && !differences.is_empty() {
            return Err(WorkerError::RunMismatch {
                dir: config.output.clone(),
                differences: differences.join("; "),
            });
        }
    }
    if !resume && (recorded.is_some() || !existing.is_empty()) {
        return Err(WorkerError::ExistingRun {
            dir: config.output.clone(),
            step: existing.last().map_or(0, |c| c.0),
        });
    }
    if resume && recorded.is_none() && !existing.is_empty() {
        return Err(WorkerError::RunMismatch {
            dir: config.output.clone(),
            differences: "it has checkpoints but no run.json, so its settings are unknown".into(),
        });
    }
    // The model and the memory plan are checked before the run directory is touched.
    let base = model.base(config.quant, config.seq_len)?;
    let cpu = match config.threads {
        0 => Cpu::new(),
        n => Cpu::new().with_threads(n)?,
    };
    let trainer = Trainer::new(&base, cpu, config.train_config(), config.key("rounding"));
    let plan = trainer.check_spec(
        StepShape {
            batch: config.batch_size,
            seq_len: config.seq_len,
        },
        // The model file stays in memory for the whole run, beside what the step plans for.
        Some(
            config
                .memory_budget()
                .saturating_sub(model.size_in_memory()),
        ),
    )?;
    let trainer = trainer.with_activation_memory(plan.memory);
    run.create()?;
    run.write_record(&record)?;

    let mut state = match existing.last() {
        Some((step, path)) if resume => {
            let state = read_checkpoint(path)?;
            if state.step != *step {
                return Err(WorkerError::CheckpointMismatch {
                    path: path.clone(),
                    detail: format!("its name says step {step}, its content step {}", state.step),
                });
            }
            if state.step > config.steps {
                return Err(WorkerError::CheckpointMismatch {
                    path: path.clone(),
                    detail: format!("it is past the run's {} steps", config.steps),
                });
            }
            check_fits(path, &state, &base.config, config.rank, &config.targets)?;
            info!(step, checkpoint = %path.display(), "resuming");
            state
        }
        _ => {
            let state = trainer.initial_state(config.key("lora-init"));
            run.write_checkpoint(&state)?;
            state
        }
    };
    let from_step = state.step;
    let mut log_lines = run.read_log(from_step)?;
    let mut log = run.reset_log(&log_lines)?;
    observer(Event::Started {
        from_step,
        total: config.steps,
        train_examples: dataset.train_examples().len(),
        validation_examples: dataset.validation_examples().len(),
    });
    info!(
        model = %config.model.display(),
        quant = config.quant.name(),
        layers = base.config.n_layers,
        threads = cpu.threads(),
        memory = %plan,
        summary = %dataset.summary(config.steps),
        "training"
    );

    let started = Instant::now();
    let mut tokens_done = 0usize;
    let stop = control.stop_at.unwrap_or(config.steps).min(config.steps);
    while state.step < stop {
        let batch = dataset.batch(state.step);
        let report = trainer.step(&mut state, &batch)?;
        let line = LogLine {
            step: report.step,
            loss: report.loss,
            tokens: report.tokens,
            lr: report.lr,
        };
        log.append(&line)?;
        log_lines.push(line);
        tokens_done += batch.rows() * batch.seq_len;
        observer(Event::Step {
            line,
            tokens_per_second: tokens_done as f64 / started.elapsed().as_secs_f64().max(1e-9),
        });
        if state.step.is_multiple_of(config.checkpoint_every) || state.step == stop {
            run.write_checkpoint(&state)?;
            observer(Event::Checkpoint {
                step: state.step,
                state_hash: hex(&state.hash()),
            });
        }
    }
    if state.step < config.steps {
        info!(
            step = state.step,
            total = config.steps,
            "stopped early; --resume continues the run"
        );
        return Ok(Outcome::Stopped {
            step: state.step,
            state_hash: hex(&state.hash()),
        });
    }

    observer(Event::Evaluating);
    let (val_base, val_adapter) = validate(&trainer, &dataset, Some(&state), config.val_batches)?;
    let val_adapter = val_adapter.expect("a state was given");
    let summary = write_outputs(config, &model, &base, &run, &state, record)?;
    let summary = FinetuneSummary {
        resumed_from: from_step,
        final_train_loss: log_lines.last().map(|l| l.loss),
        val_base,
        val_adapter,
        ..summary
    };
    let path = run.root().join("summary.json");
    let json = serde_json::to_vec_pretty(&summary).map_err(|source| WorkerError::Json {
        path: path.clone(),
        source,
    })?;
    write_atomic(&path, &json)?;
    Ok(Outcome::Finished(Box::new(summary)))
}

/// Validation loss of the base (no adapters) and, when given, of `state`, on the first `batches` validation batches
/// (0: all).
pub fn validate(
    trainer: &Trainer<'_>,
    dataset: &Dataset,
    state: Option<&TrainState>,
    batches: usize,
) -> Result<(LossReport, Option<LossReport>)> {
    let take = if batches == 0 { usize::MAX } else { batches };
    let val: Vec<_> = dataset.validation_batches().take(take).collect();
    let empty = TrainState {
        step: 0,
        adapters: Vec::new(),
    };
    let (base_loss, tokens) = trainer.evaluate(&empty, &val)?;
    let adapter = match state {
        Some(state) => Some(LossReport::new(trainer.evaluate(state, &val)?.0, tokens)),
        None => None,
    };
    Ok((LossReport::new(base_loss, tokens), adapter))
}

/// Exports the adapter (PEFT directory and GGUF LoRA) and lists the checkpoints; the losses are filled in by the
/// caller.
fn write_outputs(
    config: &FinetuneConfig,
    model: &ModelFile,
    base: &BaseModel,
    run: &RunDir,
    state: &TrainState,
    record: RunRecord,
) -> Result<FinetuneSummary> {
    let peft = export_peft(state, &base.config, config.alpha, &model.display_name())?;
    let adapter_dir = run.root().join("adapter");
    std::fs::create_dir_all(&adapter_dir).map_err(WorkerError::io("creating", &adapter_dir))?;
    write_atomic(
        &adapter_dir.join("adapter_model.safetensors"),
        &peft.safetensors,
    )?;
    write_atomic(
        &adapter_dir.join("adapter_config.json"),
        peft.adapter_config_json.as_bytes(),
    )?;
    let gguf = export_gguf_lora(state, &base.config, config.alpha, model.architecture())?;
    write_atomic(&run.root().join("adapter.gguf"), &gguf)?;
    let mut checkpoints = Vec::new();
    for (step, path) in run.checkpoints()? {
        let bytes = std::fs::read(&path).map_err(WorkerError::io("reading", &path))?;
        checkpoints.push(CheckpointEntry {
            step,
            state_hash: hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
        });
    }
    let empty = LossReport::new(0.0, 0);
    Ok(FinetuneSummary {
        steps: config.steps,
        resumed_from: 0,
        final_train_loss: None,
        val_base: empty,
        val_adapter: empty,
        state_hash: hex(&state.hash()),
        adapter_hash: hex(&adapter_hash(&peft)),
        adapter_gguf_sha256: hex(&<sha2::Sha256 as sha2::Digest>::digest(&gguf)),
        checkpoints,
        run: record,
    })
}
