//! Integer LoRA training throughput on SmolLM2-135M shapes.
//!
//! `cargo bench -p tern-kernels [--features reference] --bench train [-- --steps N --seq S --batch B --rank R
//! --activations keep|recompute --base NAME]`
//!
//! Loads SmolLM2-135M-Instruct from the data cache (`deploy/fetch-data.sh`), or, when it is absent, a random model
//! of the same shapes. For the ternary (BitNet's per-tensor rule) and the int8 base, or only the `--base` named,
//! it runs one warm-up step and `--steps` timed steps with LoRA on q/k/v/o, then prints tokens/s, and the peak
//! resident memory beside the planning estimate ([`tern_kernels::train::MemoryEstimate`]); activations are kept
//! unless `--activations recompute`. Built with
//! `--features reference`, it also times the candle f32 reference on the same model, shapes and batch, right after
//! each integer run, and prints the ratio (integer ÷ reference tokens/s).

use std::time::Instant;

use tern_kernels::{
    cpu::Cpu,
    data::Batch,
    io::gguf::Gguf,
    model::{ActivationMemory, BaseModel, BaseQuant, LoraTarget, ModelConfig, synthetic},
    rng::Key,
    train::{AdamW, LrSchedule, StepShape, TrainConfig, Trainer, bounds},
};

fn activations() -> ActivationMemory {
    let args: Vec<String> = std::env::args().collect();
    match args
        .iter()
        .position(|a| a == "--activations")
        .map(|i| args.get(i + 1).map(String::as_str))
    {
        None | Some(Some("keep")) => ActivationMemory::Keep,
        Some(Some("recompute")) => ActivationMemory::Recompute,
        Some(other) => panic!("--activations takes keep or recompute, not {other:?}"),
    }
}

fn bases() -> Vec<BaseQuant> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--base") {
        Some(i) => {
            vec![BaseQuant::parse(args.get(i + 1).map_or("", String::as_str)).expect("--base")]
        }
        None => vec![BaseQuant::TernaryPerTensor, BaseQuant::Int8PerRow],
    }
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().expect("a number"))
        .unwrap_or(default)
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let (steps, seq, batch_size, rank) = (
        arg("--steps", 2),
        arg("--seq", 256),
        arg("--batch", 4),
        arg("--rank", 8),
    );
    let cache = std::env::var_os("TERN_CACHE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../.tern/cache").into());
    let model_path = cache.join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    let (gguf, source) = match Gguf::read(&model_path) {
        Ok(g) => (g, "SmolLM2-135M-Instruct (cache)"),
        Err(_) => {
            let bytes =
                synthetic::random_gguf(&ModelConfig::smollm2_135m(), Key(1)).expect("random model");
            (
                Gguf::from_bytes(bytes).expect("random model reads"),
                "random weights, SmolLM2-135M shapes",
            )
        }
    };
    let cpu = Cpu::new();
    let memory = activations();
    println!(
        "model: {source}; seq {seq} × batch {batch_size}, LoRA rank {rank} on q/k/v/o; {} threads, SIMD {:?}; \
         activations: {}",
        cpu.threads(),
        cpu.simd(),
        memory.name()
    );
    let tokens: Vec<u32> = (0..batch_size * (seq + 1))
        .map(|i| Key(3).below(49_000, i as u32, 0, 0))
        .collect();
    let batch = Batch {
        seq_len: seq,
        examples: (0..batch_size as u32).collect(),
        tokens,
        loss_mask: vec![1; batch_size * seq],
    };
    let config = TrainConfig {
        rank,
        alpha: 2.0 * rank as f64,
        targets: vec![LoraTarget::Q, LoraTarget::K, LoraTarget::V, LoraTarget::O],
        optimizer: AdamW::default(),
        schedule: LrSchedule {
            peak: 1e-3,
            min: 1e-4,
            warmup_steps: 0,
            total_steps: 100,
        },
    };
    println!(
        "{:<16} {:>10} {:>12} {:>10} {:>14} {:>8}",
        "base", "s/step", "tokens/s", "loss", "ref tokens/s", "ratio"
    );
    let tokens = (batch_size * seq) as f64;
    let mut integer_peak = None;
    for quant in bases() {
        let base = BaseModel::from_gguf(&gguf, quant, seq).expect("load model");
        let shape = StepShape {
            batch: batch_size,
            seq_len: seq,
        };
        let estimate = bounds::memory_estimate(&base.config, quant, &config, shape, memory);
        let trainer =
            Trainer::new(&base, cpu, config.clone(), Key(4)).with_activation_memory(memory);
        let mut state = trainer.initial_state(Key(5));
        trainer.step(&mut state, &batch).expect("warm-up step");
        let started = Instant::now();
        let mut loss = 0.0;
        for _ in 0..steps {
            loss = trainer.step(&mut state, &batch).expect("step").loss;
        }
        let per_step = started.elapsed().as_secs_f64() / steps as f64;
        integer_peak = integer_peak.or(peak_rss_mib().map(|rss| (rss, estimate)));
        let reference = reference_tokens_per_s(&gguf, &base, quant, &config, &batch, steps);
        println!(
            "{:<16} {:>10.2} {:>12.1} {:>10.3} {:>14} {:>8}",
            quant.name(),
            per_step,
            tokens / per_step,
            loss,
            reference.map_or("-".into(), |r| format!("{r:.1}")),
            reference.map_or("-".into(), |r| format!("{:.2}", tokens / per_step / r)),
        );
    }
    if let Some((mib, estimate)) = integer_peak {
        println!(
            "peak RSS of the integer runs (first base): {mib:.0} MiB; planning estimate {:.0} MiB ({estimate})",
            estimate.total() as f64 / f64::from(1 << 20)
        );
    }
    if cfg!(not(feature = "reference")) {
        println!(
            "(build with `--features reference` to time the candle f32 reference on the same batch)"
        );
    }
}

/// Tokens/s of the candle f32 reference on the same model, shapes and batch (one warm-up step, then `steps`), with
/// the base fake-quantized the same way and int8 activations.
#[cfg(feature = "reference")]
fn reference_tokens_per_s(
    gguf: &Gguf,
    base: &BaseModel,
    quant: BaseQuant,
    config: &TrainConfig,
    batch: &Batch,
    steps: usize,
) -> Option<f64> {
    use tern_kernels::reference::{
        ActivationQuant, BaseWeights, LoraSettings, Numerics, OptimizerSettings, Precision,
        ReferenceTrainer, uniform_a_init,
    };
    let mut reference = ReferenceTrainer::new(
        &base.config,
        &BaseWeights::from_gguf(gguf).expect("reference weights"),
        Numerics {
            base: Some(quant),
            activations: ActivationQuant::Int8PerToken,
            precision: Precision::F32,
        },
        &LoraSettings {
            rank: config.rank,
            alpha: config.alpha as f32,
            targets: config.targets.clone(),
        },
        uniform_a_init(Key(2)),
        OptimizerSettings::adamw(),
    )
    .expect("reference trainer");
    let lr = config.schedule.peak as f32;
    reference
        .step(&batch.tokens, &batch.loss_mask, lr)
        .expect("reference warm-up step");
    let started = Instant::now();
    for _ in 0..steps {
        reference
            .step(&batch.tokens, &batch.loss_mask, lr)
            .expect("reference step");
    }
    Some(
        (batch.tokens.len() - batch.examples.len()) as f64
            / (started.elapsed().as_secs_f64() / steps as f64),
    )
}

#[cfg(not(feature = "reference"))]
fn reference_tokens_per_s(
    _: &Gguf,
    _: &BaseModel,
    _: BaseQuant,
    _: &TrainConfig,
    _: &Batch,
    _: usize,
) -> Option<f64> {
    None
}
