//! The f32 reference trainer: autograd against finite differences, training progress, input validation.
#![cfg(feature = "reference")]

use tern_kernels::model::{Architecture, BaseQuant, LoraTarget, ModelConfig};
use tern_kernels::reference::{
    ActivationQuant, BaseWeights, LoraMatrix, LoraParam, LoraSettings, LrSchedule, Numerics,
    OptimizerSettings, Precision, ReferenceError, ReferenceTrainer, uniform_a_init,
};
use tern_kernels::rng::Key;

fn tiny(architecture: Architecture) -> ModelConfig {
    ModelConfig {
        architecture,
        n_layers: 2,
        d_model: 32,
        n_heads: 4,
        n_kv_heads: 2,
        d_ff: 64,
        vocab_size: 97,
        rope_theta: 10_000.0,
        rms_eps: 1e-5,
        tied_embeddings: true,
        context_length: 64,
    }
}

fn all_targets(rank: usize) -> LoraSettings {
    LoraSettings {
        rank,
        alpha: 2.0 * rank as f32,
        targets: LoraTarget::ALL.to_vec(),
    }
}

/// `batch` rows of `seq + 1` seeded random tokens, and a mask that skips every third position.
fn random_batch(config: &ModelConfig, key: Key, batch: usize, seq: usize) -> (Vec<u32>, Vec<u8>) {
    let tokens = (0..batch * (seq + 1))
        .map(|i| key.below(config.vocab_size as u32, i as u32, 0, 0))
        .collect();
    let mask = (0..batch * seq).map(|i| u8::from(i % 3 != 2)).collect();
    (tokens, mask)
}

fn trainer(
    config: &ModelConfig,
    numerics: Numerics,
    optimizer: OptimizerSettings,
) -> ReferenceTrainer {
    let weights = BaseWeights::random(config, Key(11));
    ReferenceTrainer::new(
        config,
        &weights,
        numerics,
        &all_targets(4),
        uniform_a_init(Key(12)),
        optimizer,
    )
    .expect("tiny model builds")
}

/// Autograd's gradient of every LoRA matrix agrees with central differences of the loss, in f64 without rounding
/// steps (activation quantization would make the loss piecewise constant).
fn check_gradients_against_finite_differences(architecture: Architecture) {
    let config = tiny(architecture);
    let numerics = Numerics {
        base: None,
        activations: ActivationQuant::None,
        precision: Precision::F64,
    };
    let mut t = trainer(&config, numerics, OptimizerSettings::adamw());
    // B starts at zero, which would make every gradient of A zero: give B random values first.
    let key = Key(13);
    for (n, param) in t.lora_params().into_iter().enumerate() {
        if param.matrix == LoraMatrix::B {
            let len = t.lora_values(param).unwrap().len();
            let values: Vec<f32> = (0..len)
                .map(|i| (key.word(n as u32, i as u32, 0) as f32 / u32::MAX as f32 - 0.5) * 0.2)
                .collect();
            t.set_lora_values(param, &values).unwrap();
        }
    }
    let (tokens, mask) = random_batch(&config, Key(14), 2, 8);
    let grads = t.gradients(&tokens, &mask).unwrap();
    assert_eq!(grads.len(), 2 * 7 * 2);
    let eps = 1e-4f32;
    let mut checked = 0;
    for (n, (param, grad)) in grads.iter().enumerate() {
        let original = t.lora_values(*param).unwrap();
        let scale = grad.iter().fold(0.0f64, |m, g| m.max(f64::from(g.abs())));
        assert!(scale > 0.0, "{param:?} has an all-zero gradient");
        for probe in 0..6u32 {
            let i = key.below(original.len() as u32, n as u32, probe, 1) as usize;
            let loss_at = |delta: f32, t: &mut ReferenceTrainer| {
                let mut moved = original.clone();
                moved[i] += delta;
                t.set_lora_values(*param, &moved).unwrap();
                // The perturbation actually applied, after rounding the moved value to f32.
                (
                    t.eval_loss_f64(&tokens, &mask).unwrap(),
                    f64::from(moved[i]),
                )
            };
            let (up, x_up) = loss_at(eps, &mut t);
            let (down, x_down) = loss_at(-eps, &mut t);
            t.set_lora_values(*param, &original).unwrap();
            let numeric = (up - down) / (x_up - x_down);
            let analytic = f64::from(grad[i]);
            assert!(
                (numeric - analytic).abs() <= 1e-4 * scale + 1e-3 * analytic.abs(),
                "{param:?}[{i}]: autograd {analytic:e}, finite difference {numeric:e} (largest |grad| {scale:e})"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 28 * 6);
}

#[test]
fn llama_lora_gradients_match_finite_differences() {
    check_gradients_against_finite_differences(Architecture::Llama);
}

#[test]
fn bitnet_lora_gradients_match_finite_differences() {
    check_gradients_against_finite_differences(Architecture::Bitnet);
}

/// A toy sequence repeated in every row: the adapter must learn it on top of a random ternary base.
fn train_on_repeated_sequence(
    architecture: Architecture,
    optimizer: OptimizerSettings,
    lr: f32,
) -> (f32, f32) {
    let config = tiny(architecture);
    let mut t = trainer(&config, Numerics::default(), optimizer);
    let seq = 16;
    let pattern: Vec<u32> = (0..=seq as u32).map(|i| (i * 7 + 3) % 97).collect();
    let tokens: Vec<u32> = pattern
        .iter()
        .copied()
        .cycle()
        .take(4 * (seq + 1))
        .collect();
    let mask = vec![1u8; 4 * seq];
    let schedule = LrSchedule {
        peak: f64::from(lr),
        min: f64::from(lr) / 10.0,
        warmup_steps: 5,
        total_steps: 50,
    };
    let before = t.eval_loss(&tokens, &mask).unwrap();
    for step in 0..50 {
        let loss = t.step(&tokens, &mask, schedule.lr(step) as f32).unwrap();
        assert!(loss.is_finite(), "step {step}: loss {loss}");
    }
    let after = t.eval_loss(&tokens, &mask).unwrap();
    (before, after)
}

#[test]
fn training_learns_a_repeated_sequence() {
    let (before, after) =
        train_on_repeated_sequence(Architecture::Llama, OptimizerSettings::adamw(), 2e-2);
    assert!(
        before > 3.0,
        "a random model is no better than ln 97 ≈ 4.6 nats, got {before}"
    );
    assert!(
        after < 0.1 * before,
        "loss went from {before} to only {after}"
    );
}

#[test]
fn bitnet_variant_trains() {
    let (before, after) =
        train_on_repeated_sequence(Architecture::Bitnet, OptimizerSettings::adamw(), 2e-2);
    assert!(
        after < 0.1 * before,
        "loss went from {before} to only {after}"
    );
}

#[test]
fn sgd_with_momentum_trains() {
    let sgd = OptimizerSettings::Sgd {
        momentum: 0.9,
        weight_decay: 0.0,
    };
    let (before, after) = train_on_repeated_sequence(Architecture::Llama, sgd, 0.5);
    assert!(
        after < 0.5 * before,
        "loss went from {before} to only {after}"
    );
}

#[test]
fn every_base_quantization_loads_and_gives_a_finite_loss() {
    let config = tiny(Architecture::Llama);
    let (tokens, mask) = random_batch(&config, Key(15), 2, 8);
    let mut losses = Vec::new();
    for base in [
        None,
        Some(BaseQuant::TernaryPerTensor),
        Some(BaseQuant::TernaryPerRow),
        Some(BaseQuant::TernaryPerGroup(16)),
        Some(BaseQuant::Int8PerRow),
        Some(BaseQuant::Int8Q8_0),
    ] {
        let numerics = Numerics {
            base,
            ..Numerics::default()
        };
        let loss = trainer(&config, numerics, OptimizerSettings::adamw())
            .eval_loss(&tokens, &mask)
            .unwrap();
        assert!(loss.is_finite() && loss > 0.0, "{base:?}: loss {loss}");
        losses.push(loss);
    }
    // int8 weights barely move the loss of the float base; ternary ones move it visibly.
    assert!(
        (losses[4] - losses[0]).abs() < 0.02 * losses[0],
        "{losses:?}"
    );
    assert!((losses[1] - losses[0]).abs() > 1e-4, "{losses:?}");
}

#[test]
fn a_step_changes_only_what_it_should() {
    let config = tiny(Architecture::Llama);
    let mut t = trainer(&config, Numerics::default(), OptimizerSettings::adamw());
    let (tokens, mask) = random_batch(&config, Key(16), 2, 8);
    let q_a = LoraParam {
        layer: 0,
        target: LoraTarget::Q,
        matrix: LoraMatrix::A,
    };
    let q_b = LoraParam {
        layer: 0,
        target: LoraTarget::Q,
        matrix: LoraMatrix::B,
    };
    let a_before = t.lora_values(q_a).unwrap();
    assert_eq!(
        a_before,
        uniform_a_init(Key(12))(0, LoraTarget::Q, 4, 32),
        "A starts from the caller's values"
    );
    assert!(
        t.lora_values(q_b).unwrap().iter().all(|&v| v == 0.0),
        "B starts at zero"
    );
    let loss = t.step(&tokens, &mask, 1e-2).unwrap();
    assert_eq!(loss, t.eval_loss(&tokens, &mask).map(|_| loss).unwrap());
    // With B = 0 the gradient of A is zero: the first AdamW step moves B only.
    assert_eq!(t.lora_values(q_a).unwrap(), a_before);
    assert!(t.lora_values(q_b).unwrap().iter().any(|&v| v != 0.0));
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let config = tiny(Architecture::Llama);
    let weights = BaseWeights::random(&config, Key(1));
    let lora = all_targets(4);
    let adamw = OptimizerSettings::adamw();
    let build = |w: &BaseWeights, init: &dyn Fn(usize, LoraTarget, usize, usize) -> Vec<f32>| {
        ReferenceTrainer::new(&config, w, Numerics::default(), &lora, init, adamw)
    };

    let mut missing = weights.clone();
    missing = {
        let mut w = BaseWeights::new();
        for name in missing.names().filter(|n| *n != "blk.1.ffn_up.weight") {
            let t = missing.get(name).unwrap();
            w.insert(name, t.shape.clone(), t.data.clone()).unwrap();
        }
        w
    };
    let init = uniform_a_init(Key(2));
    assert!(
        matches!(build(&missing, &init), Err(ReferenceError::MissingTensor { name, .. }) if name == "blk.1.ffn_up.weight")
    );

    let mut wrong = weights.clone();
    wrong
        .insert("blk.0.attn_k.weight", vec![32, 16], vec![0.0; 512])
        .unwrap();
    assert!(matches!(
        build(&wrong, &init),
        Err(ReferenceError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        weights.clone().insert("x", vec![2, 3], vec![0.0; 5]),
        Err(ReferenceError::LengthMismatch {
            expected: 6,
            got: 5,
            ..
        })
    ));
    assert!(matches!(
        build(&weights, &|_, _, _, _| vec![0.0; 3]),
        Err(ReferenceError::BadLoraInit { .. })
    ));

    let mut t = build(&weights, &init).unwrap();
    let (tokens, mask) = random_batch(&config, Key(3), 2, 8);
    assert!(matches!(
        t.step(&tokens[..16], &mask, 1e-3),
        Err(ReferenceError::InvalidBatch(_))
    ));
    assert!(matches!(
        t.eval_loss(&tokens, &[0; 16]),
        Err(ReferenceError::InvalidBatch(_))
    ));
    let mut out_of_vocab = tokens.clone();
    out_of_vocab[3] = 97;
    assert!(matches!(
        t.eval_loss(&out_of_vocab, &mask),
        Err(ReferenceError::InvalidBatch(_))
    ));
    let absent = LoraParam {
        layer: 5,
        target: LoraTarget::Q,
        matrix: LoraMatrix::A,
    };
    assert!(matches!(
        t.lora_values(absent),
        Err(ReferenceError::LoraParam { .. })
    ));
    let q_a = LoraParam {
        layer: 0,
        target: LoraTarget::Q,
        matrix: LoraMatrix::A,
    };
    assert!(matches!(
        t.set_lora_values(q_a, &[1.0]),
        Err(ReferenceError::LoraParam { .. })
    ));
}
