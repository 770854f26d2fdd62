//! The tiny random model and the learnable token stream that the training tests share.

use tern_kernels::{
    data::Batch,
    io::gguf::Gguf,
    model::{Architecture, BaseModel, BaseQuant, LoraTarget, synthetic},
    rng::Key,
    train::{AdamW, LrSchedule, TrainConfig},
};

/// The tiny model of `synthetic::tiny_config`, random weights from `Key(42)`, written and read back as GGUF.
pub fn base(arch: Architecture, quant: BaseQuant) -> BaseModel {
    let bytes =
        synthetic::random_gguf(&synthetic::tiny_config(arch), Key(42)).expect("write tiny model");
    let gguf = Gguf::from_bytes(bytes).expect("read tiny model");
    BaseModel::from_gguf(&gguf, quant, 64).expect("load tiny model")
}

/// LoRA on every projection, AdamW, warmup then cosine from 1e-2 to 1e-3 over `steps`.
pub fn train_config(rank: usize, alpha: f64, steps: u32) -> TrainConfig {
    TrainConfig {
        rank,
        alpha,
        targets: LoraTarget::ALL.to_vec(),
        optimizer: AdamW::default(),
        schedule: LrSchedule {
            peak: 1e-2,
            min: 1e-3,
            warmup_steps: 2,
            total_steps: steps,
        },
    }
}

/// Two rows of a learnable stream, `t+1 = (3·t + 1) mod 64`, started at offsets chosen by `step`.
pub fn pattern_batch(step: u32, seq_len: usize) -> Batch {
    let rows = 2;
    let mut tokens = Vec::new();
    for r in 0..rows {
        let mut t = Key(7).below(64, step, r, 0);
        for _ in 0..=seq_len {
            tokens.push(t);
            t = (3 * t + 1) % 64;
        }
    }
    Batch {
        seq_len,
        examples: (0..rows).collect(),
        tokens,
        loss_mask: vec![1; rows as usize * seq_len],
    }
}
