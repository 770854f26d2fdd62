//! The integer model on the real SmolLM2-135M: base loss of each quantization scheme on held-out Shakespeare, and
//! a training step that runs and lowers the loss on its batch.

use crate::cache::{SMOLLM2, cached};
use tern_kernels::{
    cpu::Cpu,
    data::Batch,
    io::gguf::Gguf,
    model::{BaseModel, BaseQuant, LoraTarget},
    rng::Key,
    tokenizer::{Encode, Tokenizer},
    train::{AdamW, LrSchedule, TrainConfig, Trainer},
};

const SEQ: usize = 64;

/// `rows` windows of `SEQ + 1` tokens from the middle of Hamlet.
fn hamlet_batch(tokenizer: &Tokenizer, rows: usize) -> Option<Batch> {
    let text = std::fs::read_to_string(cached("corpora/shakespeare/hamlet_gut.txt")?).ok()?;
    let ids = tokenizer.encode(&text[40_000..80_000], false);
    let tokens: Vec<u32> = ids
        .chunks_exact(SEQ + 1)
        .take(rows)
        .flatten()
        .copied()
        .collect();
    Some(Batch {
        seq_len: SEQ,
        examples: (0..rows as u32).collect(),
        tokens,
        loss_mask: vec![1; rows * SEQ],
    })
}

fn config() -> TrainConfig {
    TrainConfig {
        rank: 8,
        alpha: 16.0,
        targets: vec![LoraTarget::Q, LoraTarget::K, LoraTarget::V, LoraTarget::O],
        optimizer: AdamW::default(),
        schedule: LrSchedule {
            peak: 2e-3,
            min: 2e-3,
            warmup_steps: 0,
            total_steps: 10,
        },
    }
}

#[test]
fn smollm2_base_losses_and_a_training_step() {
    let Some(path) = cached(SMOLLM2) else { return };
    let gguf = Gguf::read(&path).expect("read SmolLM2");
    let tokenizer = Tokenizer::from_gguf(&gguf).expect("tokenizer");
    let Some(batch) = hamlet_batch(&tokenizer, 2) else {
        return;
    };
    let mut losses = Vec::new();
    for quant in BaseQuant::ALL {
        let base = BaseModel::from_gguf(&gguf, quant, SEQ).expect("load SmolLM2");
        if quant == BaseQuant::Int8Q8_0 {
            // token_embd is Q8_0 in the file: the integer embedding is exactly what the file holds.
            let stored = gguf.dequantize("token_embd.weight").unwrap();
            let ours = base.embedding.to_f64();
            assert_eq!(ours.len(), stored.len());
            let differ = ours
                .iter()
                .zip(&stored)
                .filter(|&(&a, &b)| a != f64::from(b))
                .count();
            assert_eq!(
                differ, 0,
                "{differ} embedding values differ from the file's"
            );
        }
        let trainer = Trainer::new(&base, Cpu::new(), config(), Key(5));
        let state = trainer.initial_state(Key(6));
        let (loss, tokens) = trainer.evaluate(&state, [&batch]).expect("evaluate");
        assert_eq!(tokens, 2 * SEQ);
        println!(
            "SmolLM2 {:>14}: base loss {loss:.3} (perplexity {:.1}) on {tokens} Hamlet tokens",
            quant.name(),
            loss.exp()
        );
        losses.push(loss);
    }
    let [
        ternary_tensor,
        ternary_row,
        ternary_group,
        int8_row,
        int8_q8_0,
    ] = losses[..]
    else {
        unreachable!("one loss per scheme")
    };
    // int8 keeps the model's quality: Shakespeare is a few nats per token for a 135M model
    assert!(int8_row < 5.0, "int8 base loss {int8_row}");
    // post-training ternarization hurts; finer scales hurt less
    assert!(
        ternary_tensor > int8_row && ternary_row > int8_row && ternary_group > int8_row,
        "{losses:?}"
    );
    assert!(ternary_group < ternary_row, "{losses:?}");
    // Q8_0's blocks of 32 are finer than one scale per row
    assert!(int8_q8_0 < 5.0, "{losses:?}");

    // A few steps on one batch (int8 base) lower its loss: the gradients point downhill on the real model.
    let base = BaseModel::from_gguf(&gguf, BaseQuant::Int8PerRow, SEQ).expect("load SmolLM2");
    let trainer = Trainer::new(&base, Cpu::new(), config(), Key(5));
    let mut state = trainer.initial_state(Key(6));
    let started = std::time::Instant::now();
    let mut reports = Vec::new();
    for _ in 0..3 {
        reports.push(trainer.step(&mut state, &batch).expect("step"));
    }
    let (after, _) = trainer.evaluate(&state, [&batch]).expect("evaluate");
    println!(
        "SmolLM2 int8-row: 3 steps of {} tokens in {:.1?}; batch loss {:.3} -> {:.3}",
        2 * SEQ,
        started.elapsed(),
        reports[0].loss,
        after
    );
    assert!(
        (reports[0].loss - int8_row).abs() < 1e-9,
        "step 0 sees the base model"
    );
    assert!(
        after < int8_row,
        "3 steps on one batch: {int8_row} -> {after}"
    );
}
