//! `worker convert`: the quantized base written as a GGUF model file, and optionally the base perplexity of every
//! quantization on a text file, so the quality cost of ternarizing a float model is measured before training on it.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use tern_kernels::{
    cpu::Cpu,
    data::{Batch, Examples, text_examples_from_bytes},
    io::gguf::{GgmlType, Gguf},
    model::{BaseModel, BaseQuant, quantized_base_gguf},
    rng::Key,
    train::{TrainState, Trainer},
};
use tracing::info;

use crate::{
    config::FinetuneConfig,
    error::{Result, WorkerError},
    finetune::LossReport,
    inputs::{ModelFile, hex},
};

/// What `worker convert` does.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// The source model.
    pub model: PathBuf,
    /// The quantization to write.
    pub quant: BaseQuant,
    /// The file to write.
    pub output: PathBuf,
    /// The GGUF type of the written projections.
    pub tensor_type: GgmlType,
    /// A text file to measure perplexity on.
    pub eval_text: Option<PathBuf>,
    /// Tokens per evaluated sequence.
    pub seq_len: usize,
    /// Sequences evaluated (0: all the text gives).
    pub eval_sequences: usize,
    /// CPU threads (0: all cores).
    pub threads: usize,
}

/// One measured perplexity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuantLoss {
    /// What was measured: a quantization of the source, or the written file.
    pub what: String,
    /// The loss.
    pub report: LossReport,
}

/// What `worker convert` produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConvertReport {
    /// The written file.
    pub output: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its sha256, hex (the base model's content id).
    pub sha256: String,
    /// Perplexities, when a text was given: each quantization of the source, then the written file loaded back.
    pub losses: Vec<QuantLoss>,
}

/// Converts, writes, and measures.
pub fn convert(opts: &ConvertOptions) -> Result<ConvertReport> {
    if opts.seq_len == 0 {
        return Err(WorkerError::Config(
            "seq_len is 0: use a positive sequence length".into(),
        ));
    }
    let model = ModelFile::open(&opts.model)?;
    let base = model.base(opts.quant, opts.seq_len)?;
    let writer = quantized_base_gguf(&model.gguf, &base, opts.tensor_type).map_err(|source| {
        WorkerError::GgufWrite {
            path: opts.output.clone(),
            source,
        }
    })?;
    let bytes = writer.to_bytes();
    crate::checkpoint::write_atomic(&opts.output, &bytes)?;
    info!(output = %opts.output.display(), quant = opts.quant.name(), "wrote the quantized base");
    let mut report = ConvertReport {
        output: opts.output.clone(),
        bytes: bytes.len() as u64,
        sha256: hex(&Sha256::digest(&bytes)),
        losses: Vec::new(),
    };
    drop(base);
    let Some(text_path) = &opts.eval_text else {
        return Ok(report);
    };
    let batches = text_batches(text_path, &model, opts.seq_len, opts.eval_sequences)?;
    let cpu = match opts.threads {
        0 => Cpu::new(),
        n => Cpu::new().with_threads(n)?,
    };
    for quant in BaseQuant::ALL {
        let base = model.base(quant, opts.seq_len)?;
        report.losses.push(QuantLoss {
            what: format!("source as {}", quant.name()),
            report: base_loss(&base, cpu, &batches)?,
        });
    }
    // The written file, loaded with the same scheme: an already-quantized block keeps its scale, so this reproduces
    // the weights it was written from.
    let written = Gguf::from_bytes(bytes).map_err(|source| WorkerError::Gguf {
        path: opts.output.clone(),
        source,
    })?;
    let reloaded = BaseModel::from_gguf(&written, opts.quant, opts.seq_len).map_err(|source| {
        WorkerError::Model {
            path: opts.output.clone(),
            source,
        }
    })?;
    report.losses.push(QuantLoss {
        what: format!("written file (loaded as {})", opts.quant.name()),
        report: base_loss(&reloaded, cpu, &batches)?,
    });
    Ok(report)
}

/// Batches of one sequence each over `path`'s text, at most `limit` (0: all).
fn text_batches(
    path: &Path,
    model: &ModelFile,
    seq_len: usize,
    limit: usize,
) -> Result<Vec<Batch>> {
    if !path.is_file() {
        return Err(WorkerError::Missing {
            what: "evaluation text",
            path: path.to_path_buf(),
            hint: "pass a UTF-8 text file with --eval-text",
        });
    }
    model.check_positions(seq_len)?;
    let bytes = std::fs::read(path).map_err(WorkerError::io("reading", path))?;
    let examples: Examples =
        text_examples_from_bytes(&bytes, &model.tokenizer, seq_len).map_err(|source| {
            WorkerError::Data {
                path: path.to_path_buf(),
                source,
            }
        })?;
    let n = if limit == 0 {
        examples.len()
    } else {
        examples.len().min(limit)
    };
    if n == 0 {
        return Err(WorkerError::Config(format!(
            "{} gives no sequence of {} tokens: use a longer text or a shorter --seq-len",
            path.display(),
            seq_len + 1
        )));
    }
    Ok((0..n)
        .map(|i| {
            let e = examples.get(i).expect("index below len");
            Batch {
                seq_len,
                examples: vec![i as u32],
                tokens: e.tokens.to_vec(),
                loss_mask: e.loss_mask.to_vec(),
            }
        })
        .collect())
}

fn base_loss(base: &BaseModel, cpu: Cpu, batches: &[Batch]) -> Result<LossReport> {
    let trainer = Trainer::new(base, cpu, FinetuneConfig::default().train_config(), Key(0));
    let empty = TrainState {
        step: 0,
        adapters: Vec::new(),
    };
    let (loss, tokens) = trainer.evaluate(&empty, batches)?;
    Ok(LossReport::new(loss, tokens))
}
