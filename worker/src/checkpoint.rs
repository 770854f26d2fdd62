//! A run's output directory: the record of what the run is, its checkpoints and its loss log.
//!
//! ```text
//! <output>/run.json                      settings + model and dataset sha256 (checked on --resume and by eval)
//! <output>/checkpoints/step-00000025.tstate   TrainState::encode() of S_25, so its sha256 is the state hash
//! <output>/train_log.jsonl               one line per step: step, loss, tokens, lr
//! <output>/adapter/…, adapter.gguf, summary.json   written when the run ends
//! ```
//!
//! Every file is written to a temporary name beside its target, synced, then renamed over it, so a crash leaves
//! either the old file or the new one, never a torn one.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};
use tern_kernels::{
    model::{LoraTarget, ModelConfig},
    train::TrainState,
};

use crate::{
    config::FinetuneConfig,
    error::{Result, WorkerError},
    inputs::hex,
};

/// Version of `run.json`'s layout.
pub const RUN_FORMAT: u32 = 1;

/// What `run.json` holds: the settings and the content ids of the inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// [`RUN_FORMAT`].
    pub format: u32,
    /// The run's settings.
    pub config: FinetuneConfig,
    /// `sha256` of the model file, hex.
    pub model_sha256: String,
    /// `sha256` of the dataset, hex.
    pub dataset_sha256: String,
}

impl RunRecord {
    /// The record of a run of `config` on these inputs.
    pub fn new(
        config: &FinetuneConfig,
        model_sha256: &[u8; 32],
        dataset_sha256: &[u8; 32],
    ) -> Self {
        Self {
            format: RUN_FORMAT,
            config: config.clone(),
            model_sha256: hex(model_sha256),
            dataset_sha256: hex(dataset_sha256),
        }
    }

    /// What differs between this record and `now` in what decides the trace, as `name: recorded -> now` items.
    pub fn differences(&self, now: &RunRecord) -> Vec<String> {
        let mut out: Vec<String> = self
            .config
            .trace_settings()
            .into_iter()
            .zip(now.config.trace_settings())
            .filter(|(a, b)| a.1 != b.1)
            .map(|((name, a), (_, b))| format!("{name}: {a} -> {b}"))
            .collect();
        if self.model_sha256 != now.model_sha256 {
            out.push(format!(
                "model sha256: {} -> {} (another model file)",
                short(&self.model_sha256),
                short(&now.model_sha256)
            ));
        }
        if self.dataset_sha256 != now.dataset_sha256 {
            out.push(format!(
                "dataset sha256: {} -> {} (other data)",
                short(&self.dataset_sha256),
                short(&now.dataset_sha256)
            ));
        }
        out
    }
}

fn short(h: &str) -> &str {
    &h[..h.len().min(12)]
}

/// One line of `train_log.jsonl`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// The step that ran (`i` of `S_i → S_{i+1}`).
    pub step: u32,
    /// Its batch's mean loss before the update.
    pub loss: f64,
    /// Target tokens counted.
    pub tokens: usize,
    /// Learning rate used.
    pub lr: f64,
}

/// A run's output directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// The run in `root` (which may not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `run.json`.
    pub fn record_path(&self) -> PathBuf {
        self.root.join("run.json")
    }

    /// The checkpoint directory.
    pub fn checkpoints_dir(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    /// The checkpoint file of `S_step`.
    pub fn checkpoint_path(&self, step: u32) -> PathBuf {
        self.checkpoints_dir()
            .join(format!("step-{step:08}.tstate"))
    }

    /// `train_log.jsonl`.
    pub fn log_path(&self) -> PathBuf {
        self.root.join("train_log.jsonl")
    }

    /// Creates the directory and its checkpoint directory.
    pub fn create(&self) -> Result<()> {
        let dir = self.checkpoints_dir();
        std::fs::create_dir_all(&dir).map_err(WorkerError::io("creating", dir))
    }

    /// The recorded run, if there is one.
    pub fn read_record(&self) -> Result<Option<RunRecord>> {
        let path = self.record_path();
        if !path.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(&path).map_err(WorkerError::io("reading", &path))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| WorkerError::Json { path, source })
    }

    /// Writes `run.json`.
    pub fn write_record(&self, record: &RunRecord) -> Result<()> {
        let path = self.record_path();
        let json = serde_json::to_vec_pretty(record).map_err(|source| WorkerError::Json {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &json)
    }

    /// The checkpoints present, `(step, file)` by increasing step. Files not named `step-N.tstate` are ignored.
    pub fn checkpoints(&self) -> Result<Vec<(u32, PathBuf)>> {
        let dir = self.checkpoints_dir();
        if !dir.exists() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(WorkerError::io("listing", &dir))? {
            let path = entry.map_err(WorkerError::io("listing", &dir))?.path();
            let step = path.file_name().and_then(|n| n.to_str()).and_then(|n| {
                n.strip_prefix("step-")?
                    .strip_suffix(".tstate")?
                    .parse()
                    .ok()
            });
            if let Some(step) = step {
                out.push((step, path));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Writes `state` as the checkpoint of its step; returns the file.
    pub fn write_checkpoint(&self, state: &TrainState) -> Result<PathBuf> {
        let path = self.checkpoint_path(state.step);
        write_atomic(&path, &state.encode())?;
        Ok(path)
    }

    /// The log lines of steps before `before`, in order (a missing log is empty).
    pub fn read_log(&self, before: u32) -> Result<Vec<LogLine>> {
        let path = self.log_path();
        if !path.exists() {
            return Ok(Vec::new());
        }
        let text = std::fs::read_to_string(&path).map_err(WorkerError::io("reading", &path))?;
        let mut out = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            // A line torn by a crash is the last one and belongs to a step the checkpoint does not cover.
            let Ok(entry) = serde_json::from_str::<LogLine>(line) else {
                break;
            };
            if entry.step < before {
                out.push(entry);
            }
        }
        Ok(out)
    }

    /// Replaces the log with `lines` and opens it for appending.
    pub fn reset_log(&self, lines: &[LogLine]) -> Result<TrainLog> {
        let path = self.log_path();
        let mut text = String::new();
        for l in lines {
            text.push_str(&serde_json::to_string(l).expect("a log line serializes"));
            text.push('\n');
        }
        write_atomic(&path, text.as_bytes())?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(WorkerError::io("opening", &path))?;
        Ok(TrainLog { path, file })
    }
}

/// `train_log.jsonl`, open for appending.
pub struct TrainLog {
    path: PathBuf,
    file: std::fs::File,
}

impl TrainLog {
    /// Appends one line.
    pub fn append(&mut self, line: &LogLine) -> Result<()> {
        let mut text = serde_json::to_string(line).expect("a log line serializes");
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .map_err(WorkerError::io("writing", &self.path))
    }
}

/// Writes `bytes` to `path` through a synced temporary file renamed over it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp).map_err(WorkerError::io("writing", &tmp))?;
        file.write_all(bytes)
            .map_err(WorkerError::io("writing", &tmp))?;
        file.sync_all().map_err(WorkerError::io("syncing", &tmp))?;
        std::fs::rename(&tmp, path).map_err(WorkerError::io("renaming into", path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Reads and decodes a checkpoint file.
pub fn read_checkpoint(path: &Path) -> Result<TrainState> {
    if !path.is_file() {
        return Err(WorkerError::Missing {
            what: "checkpoint",
            path: path.to_path_buf(),
            hint: "give a checkpoints/step-N.tstate file written by `worker finetune`, or its output directory",
        });
    }
    let bytes = std::fs::read(path).map_err(WorkerError::io("reading", path))?;
    TrainState::decode(&bytes).map_err(|source| WorkerError::Checkpoint {
        path: path.to_path_buf(),
        source,
    })
}

/// Checks that `state` holds exactly the adapters a run of `rank` on `targets` gives `model`.
pub fn check_fits(
    path: &Path,
    state: &TrainState,
    model: &ModelConfig,
    rank: usize,
    targets: &[LoraTarget],
) -> Result<()> {
    let mismatch = |detail: String| WorkerError::CheckpointMismatch {
        path: path.to_path_buf(),
        detail,
    };
    let expected = model.n_layers * targets.len();
    if state.adapters.len() != expected {
        return Err(mismatch(format!(
            "it holds {} adapters, a rank-{rank} run on {} targets of this {}-layer model has {expected}; \
             was it trained on another model or with other targets?",
            state.adapters.len(),
            targets.len(),
            model.n_layers
        )));
    }
    let wanted = (0..model.n_layers).flat_map(|l| targets.iter().map(move |&t| (l, t)));
    for (ad, (layer, target)) in state.adapters.iter().zip(wanted) {
        let (out, input) = target.shape(model);
        if usize::from(ad.layer) != layer
            || ad.target != target
            || ad.rank != rank
            || (ad.out_features, ad.in_features) != (out, input)
        {
            return Err(mismatch(format!(
                "it adapts layer {} {:?} at rank {} as {}×{}, this run expects layer {layer} {target:?} at rank {rank} \
                 as {out}×{input}: it comes from another model or configuration",
                ad.layer, ad.target, ad.rank, ad.out_features, ad.in_features
            )));
        }
    }
    Ok(())
}

/// The checkpoint file and run directory a path names: a checkpoint file (its run is two levels up, when that
/// holds a `run.json`), or a run directory (its latest checkpoint).
pub fn locate(path: &Path) -> Result<(PathBuf, Option<RunDir>)> {
    if path.is_dir() {
        let run = RunDir::new(path);
        let (_, file) = run
            .checkpoints()?
            .pop()
            .ok_or_else(|| WorkerError::NoCheckpoint(path.to_path_buf()))?;
        return Ok((file, Some(run)));
    }
    let run = path
        .parent()
        .and_then(Path::parent)
        .map(RunDir::new)
        .filter(|r| r.record_path().is_file());
    Ok((path.to_path_buf(), run))
}

/// Reads a checkpoint to use as an adapter on `model`: its rank and targets are its own, but every adapter must fit
/// the model's shapes.
pub fn read_adapter(path: &Path, model: &ModelConfig) -> Result<TrainState> {
    let state = read_checkpoint(path)?;
    let Some(first) = state.adapters.first() else {
        return Err(WorkerError::CheckpointMismatch {
            path: path.to_path_buf(),
            detail: "it holds no adapters".into(),
        });
    };
    let mut targets: Vec<LoraTarget> = state
        .adapters
        .iter()
        .filter(|a| a.layer == first.layer)
        .map(|a| a.target)
        .collect();
    targets.sort();
    targets.dedup();
    check_fits(path, &state, model, first.rank, &targets)?;
    Ok(state)
}
