//! Loading what a command works on: the model file (with its tokenizer) and the dataset, each checked with a clear
//! error and identified by the sha256 of its bytes (DESIGN.md §3.1: content ids).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tern_kernels::{
    data::{
        ChatTemplate, DataError, Dataset, DatasetConfig, Examples, chat_examples, read_text_dir,
        text_examples,
    },
    io::gguf::Gguf,
    model::{BaseModel, BaseQuant, ModelConfig, config_from_gguf},
    tokenizer::Tokenizer,
};

use crate::{
    config::{DatasetFormat, FinetuneConfig},
    error::{Result, WorkerError},
};

/// A model file in memory with its tokenizer.
pub struct ModelFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The parsed file.
    pub gguf: Gguf,
    /// Its shapes.
    pub config: ModelConfig,
    /// Its tokenizer.
    pub tokenizer: Tokenizer,
    /// `sha256` of the file's bytes.
    pub sha256: [u8; 32],
}

impl ModelFile {
    /// Reads `path`, checking that it is a model Tern trains and carries a tokenizer that fits its vocabulary.
    pub fn open(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(WorkerError::Missing {
                what: "model file",
                path: path.to_path_buf(),
                hint: "pass a GGUF model with --model (or TERN_MODEL); deploy/fetch-data.sh fetches SmolLM2-135M",
            });
        }
        let gguf = Gguf::read(path).map_err(|source| WorkerError::Gguf {
            path: path.to_path_buf(),
            source,
        })?;
        let config = config_from_gguf(&gguf).map_err(|source| WorkerError::Model {
            path: path.to_path_buf(),
            source,
        })?;
        let tokenizer = Tokenizer::from_gguf(&gguf).map_err(|source| WorkerError::Tokenizer {
            path: path.to_path_buf(),
            source,
        })?;
        if tokenizer.vocab_size() > config.vocab_size {
            return Err(WorkerError::WrongModel(format!(
                "{}: its tokenizer has {} tokens but the model only {} embeddings; the file is inconsistent",
                path.display(),
                tokenizer.vocab_size(),
                config.vocab_size
            )));
        }
        let sha256 = Sha256::digest(gguf.as_bytes()).into();
        Ok(Self {
            path: path.to_path_buf(),
            gguf,
            config,
            tokenizer,
            sha256,
        })
    }

    /// Checks that sequences of `positions` tokens are within what the base loads for (four times the model's
    /// context length), before anything is allocated for them.
    pub fn check_positions(&self, positions: usize) -> Result<()> {
        let limit = self.config.context_length.max(1).saturating_mul(4);
        if positions > limit {
            return Err(WorkerError::Config(format!(
                "sequences of {positions} tokens are far beyond the model's context length of {}: use at most {limit}",
                self.config.context_length
            )));
        }
        Ok(())
    }

    /// The integer base under `quant`, with RoPE tables for `positions` tokens.
    pub fn base(&self, quant: BaseQuant, positions: usize) -> Result<BaseModel> {
        BaseModel::from_gguf(&self.gguf, quant, positions).map_err(|source| WorkerError::Model {
            path: self.path.clone(),
            source,
        })
    }

    /// Bytes the open model holds in memory (the whole file).
    pub fn size_in_memory(&self) -> u64 {
        self.gguf.byte_len() as u64
    }

    /// `general.architecture` (what a GGUF LoRA adapter must name).
    pub fn architecture(&self) -> &str {
        self.gguf.get_str("general.architecture").unwrap_or("llama")
    }

    /// A name for the base in adapter files: `general.name`, else the file name.
    pub fn display_name(&self) -> String {
        match self.gguf.get_str_opt("general.name") {
            Ok(Some(name)) if !name.is_empty() => name.to_owned(),
            _ => self
                .path
                .file_stem()
                .map_or_else(|| "base".into(), |s| s.to_string_lossy().into_owned()),
        }
    }

    /// The chat template the model file names, else ChatML.
    pub fn chat_template(&self) -> Result<ChatTemplate> {
        let Some(source) = self.tokenizer.chat_template() else {
            return Ok(ChatTemplate::chatml());
        };
        let token = |id: Option<u32>| {
            id.and_then(|id| self.tokenizer.token_text(id))
                .unwrap_or_default()
                .to_owned()
        };
        let (bos, eos) = (
            token(self.tokenizer.bos_token()),
            token(Some(tern_kernels::tokenizer::Encode::eos(&self.tokenizer))),
        );
        ChatTemplate::new(source)
            .map(|t| t.with_token_strings(&bos, &eos))
            .map_err(|source| WorkerError::Data {
                path: self.path.clone(),
                source,
            })
    }
}

/// Tokenized examples with the content id of the data they came from.
pub struct DatasetFile {
    /// The examples.
    pub examples: Examples,
    /// `sha256` over the dataset's bytes (for a directory: each `.txt` file's name and bytes, in name order).
    pub sha256: [u8; 32],
}

/// Reads and tokenizes `path` in `format` into examples of `seq_len` targets.
pub fn load_examples(
    path: &Path,
    format: DatasetFormat,
    model: &ModelFile,
    seq_len: usize,
) -> Result<DatasetFile> {
    model.check_positions(seq_len)?;
    let data_err = |source: DataError| WorkerError::Data {
        path: path.to_path_buf(),
        source,
    };
    if !path.exists() {
        return Err(WorkerError::Missing {
            what: "dataset",
            path: path.to_path_buf(),
            hint: "pass a .txt file, a directory of .txt files or a chat .jsonl file with --dataset (or TERN_DATASET)",
        });
    }
    let mut hash = Sha256::new();
    let examples = match format.resolve(path) {
        DatasetFormat::Chat => {
            let bytes = std::fs::read(path).map_err(WorkerError::io("reading", path))?;
            hash.update(&bytes);
            chat_examples(&bytes, &model.chat_template()?, &model.tokenizer, seq_len)
        }
        _ if path.is_dir() => {
            let documents = read_text_dir(path).map_err(data_err)?;
            for d in &documents {
                hash.update((d.name.len() as u64).to_le_bytes());
                hash.update(d.name.as_bytes());
                hash.update((d.text.len() as u64).to_le_bytes());
                hash.update(d.text.as_bytes());
            }
            let texts: Vec<&str> = documents.iter().map(|d| d.text.as_str()).collect();
            text_examples(&texts, &model.tokenizer, seq_len)
        }
        _ => {
            let bytes = std::fs::read(path).map_err(WorkerError::io("reading", path))?;
            hash.update(&bytes);
            tern_kernels::data::text_examples_from_bytes(&bytes, &model.tokenizer, seq_len)
        }
    }
    .map_err(data_err)?;
    Ok(DatasetFile {
        examples,
        sha256: hash.finalize().into(),
    })
}

/// The dataset of a run: the examples split and ordered under the run's data-order key.
pub fn load_dataset(config: &FinetuneConfig, model: &ModelFile) -> Result<(Dataset, [u8; 32])> {
    let file = load_examples(
        &config.dataset,
        config.dataset_format,
        model,
        config.seq_len,
    )?;
    let dataset = Dataset::new(
        file.examples,
        config.key("data-order"),
        DatasetConfig {
            batch_size: config.batch_size,
            validation_per_mille: config.validation_per_mille,
        },
    )
    .map_err(|source| WorkerError::Data {
        path: config.dataset.clone(),
        source,
    })?;
    Ok((dataset, file.sha256))
}

/// Lowercase hex of a hash.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
