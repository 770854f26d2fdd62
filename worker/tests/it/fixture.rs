//! A scratch directory with a tiny model file (random weights, a byte-level BPE tokenizer, the ChatML template),
//! a small text corpus, and a way to run the real `worker` binary on them.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use tempfile::TempDir;
use tern_kernels::{
    data::CHATML_TEMPLATE,
    io::gguf::{Gguf, GgufWriter, MetaArray, MetaValue},
    model::{Architecture, ModelConfig, synthetic},
    rng::Key,
};

/// `<|im_end|>`, the end-of-sequence token (after the 256 byte tokens, `<|endoftext|>` and `<|im_start|>`).
pub const IM_END: u32 = 258;

/// The tiny llama: 2 blocks of width 32, vocabulary 260 (256 bytes and 3 control tokens, one spare row).
pub fn tiny_config() -> ModelConfig {
    ModelConfig {
        vocab_size: 260,
        ..synthetic::tiny_config(Architecture::Llama)
    }
}

/// GPT-2's byte-to-character spelling, as byte-level BPE vocabularies store byte tokens.
fn byte_char(b: u8) -> char {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    if printable(b) {
        char::from(b)
    } else {
        let n = (0..b).filter(|&x| !printable(x)).count() as u32;
        char::from_u32(256 + n).expect("a valid character")
    }
}

/// A GGUF model file: `synthetic::random_gguf` of `config` from `seed`, with a byte-level tokenizer added.
pub fn model_bytes(config: &ModelConfig, seed: u32) -> Vec<u8> {
    let random = Gguf::from_bytes(synthetic::random_gguf(config, Key(seed)).expect("random model"))
        .expect("random model reads");
    let mut w = GgufWriter::new();
    for (key, value) in random.meta().iter() {
        w.metadata(key, value.clone()).expect("metadata");
    }
    let mut tokens: Vec<String> = (0..=255u8).map(|b| byte_char(b).to_string()).collect();
    tokens.extend(["<|endoftext|>", "<|im_start|>", "<|im_end|>"].map(String::from));
    let mut types = vec![1i32; 256];
    types.extend([3, 3, 3]);
    let meta = [
        ("general.name", MetaValue::Str("tern-tiny".into())),
        ("tokenizer.ggml.model", MetaValue::Str("gpt2".into())),
        (
            "tokenizer.ggml.tokens",
            MetaValue::Array(MetaArray::Str(tokens)),
        ),
        (
            "tokenizer.ggml.token_type",
            MetaValue::Array(MetaArray::I32(types)),
        ),
        (
            "tokenizer.ggml.merges",
            MetaValue::Array(MetaArray::Str(Vec::new())),
        ),
        ("tokenizer.ggml.eos_token_id", MetaValue::U32(IM_END)),
        ("tokenizer.ggml.add_bos_token", MetaValue::Bool(false)),
        (
            "tokenizer.chat_template",
            MetaValue::Str(CHATML_TEMPLATE.into()),
        ),
    ];
    for (key, value) in meta {
        w.metadata(key, value).expect("tokenizer metadata");
    }
    for info in random.tensors() {
        w.tensor(
            info.name.clone(),
            &info.shape,
            info.ty,
            random.tensor_bytes(info).to_vec(),
        )
        .expect("tensor");
    }
    w.to_bytes()
}

/// A text with structure a few steps can start to learn: counting rhymes, 6 KB.
pub fn corpus() -> String {
    let words = [
        "one", "two", "three", "four", "five", "six", "seven", "eight",
    ];
    (0..120)
        .map(|i| {
            format!(
                "{} little {} went to market. ",
                words[i % 8],
                words[(i * 3) % 8]
            )
        })
        .collect()
}

/// A scratch directory with `model.gguf` and `corpus.txt`.
pub struct Scratch {
    /// The directory (removed on drop).
    pub dir: TempDir,
}

impl Scratch {
    /// Writes the tiny model (seed 42) and the corpus.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("model.gguf"),
            model_bytes(&tiny_config(), 42),
        )
        .expect("model");
        std::fs::write(dir.path().join("corpus.txt"), corpus()).expect("corpus");
        Self { dir }
    }

    /// A path inside the directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs `worker args…` with the environment cleared of `TERN_*` settings, in the scratch directory.
    pub fn worker(&self, args: &[&str]) -> Run {
        self.worker_env(args, &[])
    }

    /// As [`Scratch::worker`], with extra environment variables.
    pub fn worker_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_worker"));
        cmd.args(args).current_dir(self.dir.path());
        for (key, _) in std::env::vars() {
            if key.starts_with("TERN_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("TERN_CACHE_DIR", self.path("no-cache"));
        cmd.env("RUST_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run(cmd.output().expect("the worker binary runs"))
    }

    /// `worker finetune` on the tiny model and corpus with small settings, plus `extra` flags.
    pub fn finetune(&self, output: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "finetune",
            "--model",
            "model.gguf",
            "--dataset",
            "corpus.txt",
            "--output",
            output,
            "--steps",
            "4",
            "--seq-len",
            "16",
            "--batch-size",
            "2",
            "--rank",
            "4",
            "--alpha",
            "8",
            "--targets",
            "q,v,down",
            "--lr-peak",
            "1e-2",
            "--warmup-steps",
            "1",
            "--checkpoint-every",
            "2",
            "--val-batches",
            "2",
            "--threads",
            "1",
            "--no-progress",
        ];
        args.extend_from_slice(extra);
        self.worker(&args)
    }
}

/// A finished `worker` process.
pub struct Run(pub Output);

impl Run {
    /// Its standard output.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    /// Its standard error.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    /// Asserts success and returns stdout.
    pub fn ok(&self) -> String {
        assert!(
            self.0.status.success(),
            "worker failed ({}):\nstdout:\n{}\nstderr:\n{}",
            self.0.status,
            self.stdout(),
            self.stderr()
        );
        self.stdout()
    }

    /// Asserts a clean failure (exit code 1 or 2, no panic) and returns stderr.
    pub fn fails(&self) -> String {
        let stderr = self.stderr();
        assert!(
            !self.0.status.success(),
            "worker should have failed:\n{}",
            self.stdout()
        );
        assert!(
            matches!(self.0.status.code(), Some(1 | 2)) && !stderr.contains("panicked"),
            "worker did not fail cleanly ({}):\n{stderr}",
            self.0.status
        );
        stderr
    }

    /// Stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout()))
    }
}

/// `sha256(file)`, hex.
pub fn file_sha256(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(std::fs::read(path).expect("file"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
