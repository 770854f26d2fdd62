//! `worker generate`: text from a prompt with the base model and, optionally, a trained adapter.

use std::path::PathBuf;

use tern_kernels::{
    cpu::Cpu,
    data::{Message, Role},
    model::{Adapters, BaseQuant, Sampling, Transformer, generate as decode},
    rng::Key,
    tokenizer::Encode,
    train::TrainState,
};

use crate::{
    checkpoint::read_adapter,
    config::LOCAL_JOB_ID,
    error::{Result, WorkerError},
    inputs::ModelFile,
};

/// What `worker generate` does.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// The base model.
    pub model: PathBuf,
    /// Its quantization.
    pub quant: BaseQuant,
    /// An adapter checkpoint, with the alpha it was trained with.
    pub adapter: Option<(PathBuf, f64)>,
    /// The prompt.
    pub prompt: String,
    /// Wrap the prompt as a user turn in the model's chat template and open the assistant's turn.
    pub chat: bool,
    /// Most tokens to generate.
    pub max_tokens: usize,
    /// 0 for greedy decoding, else the softmax temperature.
    pub temperature: f64,
    /// Candidates kept when sampling (0: all).
    pub top_k: usize,
    /// Seed of the sampling stream.
    pub seed: u64,
    /// CPU threads (0: all cores).
    pub threads: usize,
}

/// What was generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// The prompt's token ids.
    pub prompt_tokens: Vec<u32>,
    /// The new token ids (ending with the end-of-sequence token if the model stopped).
    pub tokens: Vec<u32>,
    /// The new tokens as text.
    pub text: String,
}

/// Generates from `opts.prompt`.
pub fn generate(opts: &GenerateOptions) -> Result<Generation> {
    if opts.max_tokens == 0 {
        return Err(WorkerError::Config(
            "max_tokens is 0: ask for at least one token".into(),
        ));
    }
    if !(opts.temperature.is_finite() && opts.temperature >= 0.0) {
        return Err(WorkerError::Config(format!(
            "temperature {} must be 0 (greedy) or positive",
            opts.temperature
        )));
    }
    let model = ModelFile::open(&opts.model)?;
    let prompt_text = if opts.chat {
        let message = Message {
            role: Role::User,
            content: opts.prompt.clone(),
        };
        model
            .chat_template()?
            .render(&[message], true)
            .map_err(|e| WorkerError::Config(format!("the model's chat template fails: {e}")))?
    } else {
        opts.prompt.clone()
    };
    let tokenizer = &model.tokenizer;
    let mut prompt_tokens: Vec<u32> = tokenizer.bos().into_iter().collect();
    prompt_tokens.extend(tokenizer.encode(&prompt_text, opts.chat));
    if prompt_tokens.is_empty() {
        return Err(WorkerError::Config(
            "the prompt is empty and the model has no beginning-of-sequence token: give a prompt"
                .into(),
        ));
    }
    let positions = prompt_tokens.len().saturating_add(opts.max_tokens);
    model.check_positions(positions)?;
    let base = model.base(opts.quant, positions)?;
    let state = match &opts.adapter {
        Some((path, _)) => read_adapter(path, &base.config)?,
        None => TrainState {
            step: 0,
            adapters: Vec::new(),
        },
    };
    let alpha = opts.adapter.as_ref().map_or(1.0, |a| a.1);
    crate::config::check_alpha(alpha)?;
    let adapters = Adapters::from_state(&base.config, &state, alpha);
    let cpu = match opts.threads {
        0 => Cpu::new(),
        n => Cpu::new().with_threads(n)?,
    };
    let transformer = Transformer::new(&base, &adapters, &cpu);
    let sampling = if opts.temperature == 0.0 {
        Sampling::Greedy
    } else {
        Sampling::Temperature {
            temperature: opts.temperature,
            top_k: opts.top_k,
            key: Key::derive(&LOCAL_JOB_ID, "sampling", opts.seed),
        }
    };
    let tokens = decode(
        &transformer,
        &prompt_tokens,
        opts.max_tokens,
        sampling,
        Some(tokenizer.eos()),
    )?;
    let text = tokenizer.decode(&tokens).map_err(|e| {
        WorkerError::WrongModel(format!(
            "the model produced a token its tokenizer lacks: {e}"
        ))
    })?;
    Ok(Generation {
        prompt_tokens,
        tokens,
        text,
    })
}
