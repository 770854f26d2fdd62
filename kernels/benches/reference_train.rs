//! Training throughput of the f32 reference trainer on SmolLM2-135M shapes:
//! `cargo bench -p tern-kernels --features reference --bench reference_train`.
//!
//! Random weights (speed does not depend on their values), batch 4 × 256 tokens, LoRA rank 8 on q/k/v/o, AdamW,
//! default numerics (ternary base, int8 activations). `TERN_BENCH_LAYERS` (comma-separated, default `30`) picks
//! the depths to time; with two or more depths the per-layer cost is fitted and the full 30-layer rate estimated,
//! for machines where 30 layers take too long.

use std::time::Instant;

use tern_kernels::model::{LoraTarget, ModelConfig};
use tern_kernels::reference::{
    BaseWeights, LoraSettings, Numerics, OptimizerSettings, ReferenceTrainer, uniform_a_init,
};
use tern_kernels::rng::Key;

const BATCH: usize = 4;
const SEQ: usize = 256;
const STEPS: usize = 3;

/// Best seconds per training step at `layers` layers (one untimed warm-up step first).
fn seconds_per_step(layers: usize) -> f64 {
    let config = ModelConfig {
        n_layers: layers,
        ..ModelConfig::smollm2_135m()
    };
    let weights = BaseWeights::random(&config, Key(1));
    let lora = LoraSettings {
        rank: 8,
        alpha: 16.0,
        targets: vec![LoraTarget::Q, LoraTarget::K, LoraTarget::V, LoraTarget::O],
    };
    let mut trainer = match ReferenceTrainer::new(
        &config,
        &weights,
        Numerics::default(),
        &lora,
        uniform_a_init(Key(2)),
        OptimizerSettings::adamw(),
    ) {
        Ok(t) => t,
        Err(e) => panic!("cannot build the trainer: {e}"),
    };
    let key = Key(3);
    let tokens: Vec<u32> = (0..BATCH * (SEQ + 1))
        .map(|i| key.below(config.vocab_size as u32, i as u32, 0, 0))
        .collect();
    let mask = vec![1u8; BATCH * SEQ];
    let mut best = f64::INFINITY;
    for step in 0..=STEPS {
        let started = Instant::now();
        if let Err(e) = trainer.step(&tokens, &mask, 1e-4) {
            panic!("training step failed: {e}");
        }
        if step > 0 {
            best = best.min(started.elapsed().as_secs_f64());
        }
    }
    best
}

fn main() {
    let layers: Vec<usize> = std::env::var("TERN_BENCH_LAYERS")
        .unwrap_or_else(|_| "30".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|&n| n > 0)
        .collect();
    let tokens = (BATCH * SEQ) as f64;
    let mut timings = Vec::new();
    for &n in &layers {
        let seconds = seconds_per_step(n);
        println!(
            "reference trainer, SmolLM2 shapes, {n} layers, batch {BATCH}×{SEQ}, LoRA r8 q/k/v/o: \
             {seconds:.2} s/step, {:.0} tokens/s",
            tokens / seconds
        );
        timings.push((n as f64, seconds));
    }
    if let [(l1, t1), .., (l2, t2)] = timings[..]
        && l2 != l1
    {
        let per_layer = (t2 - t1) / (l2 - l1);
        let fixed = t1 - per_layer * l1;
        let full = fixed + 30.0 * per_layer;
        println!(
            "fit: {fixed:.2} s/step outside the blocks (embedding, LM head, loss) + {per_layer:.3} s per layer \
             -> 30 layers ≈ {full:.1} s/step, {:.0} tokens/s",
            tokens / full
        );
    }
}
