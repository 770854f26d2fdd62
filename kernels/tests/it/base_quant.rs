//! The finer base quantizations on the tiny model: per-group ternary scales train, give the same state hash on
//! every SIMD path and thread count, and hold the weights the f32 reference fake-quantizes to.

use tern_kernels::{
    cpu::{Cpu, SimdLevel},
    io::gguf::{GgmlType, Gguf, quant},
    model::{Architecture, BaseModel, BaseQuant, LoraTarget, ModelError, synthetic},
    ops::LinearError,
    rng::Key,
    train::Trainer,
};

use crate::tiny::{base as tiny_base, pattern_batch, train_config};

const SEQ: usize = 16;

#[test]
fn per_group_ternary_learns_and_is_identical_on_every_path() {
    let base = tiny_base(Architecture::Bitnet, BaseQuant::TernaryPerGroup(16));
    let config = train_config(4, 8.0, 30);
    let mut hashes = Vec::new();
    for level in SimdLevel::available() {
        for threads in [1, 3] {
            let cpu = Cpu::new()
                .with_simd(level)
                .unwrap()
                .with_threads(threads)
                .unwrap();
            let trainer = Trainer::new(&base, cpu, config.clone(), Key(99));
            let mut state = trainer.initial_state(Key(1));
            for s in 0..3 {
                trainer.step(&mut state, &pattern_batch(s, SEQ)).unwrap();
            }
            hashes.push((format!("{level:?}/{threads}"), state.hash()));
        }
    }
    for (name, h) in &hashes {
        assert_eq!(h, &hashes[0].1, "{name} differs from {}", hashes[0].0);
    }

    let trainer = Trainer::new(&base, Cpu::new(), config, Key(99));
    let mut state = trainer.initial_state(Key(1));
    let held_out = [pattern_batch(1000, SEQ), pattern_batch(1001, SEQ)];
    let (before, _) = trainer.evaluate(&state, &held_out).unwrap();
    for s in 0..30 {
        trainer.step(&mut state, &pattern_batch(s, SEQ)).unwrap();
    }
    let (after, _) = trainer.evaluate(&state, &held_out).unwrap();
    println!("Bitnet ternary-group(16): held-out loss {before:.3} -> {after:.3}");
    assert!(after < 0.5 * before, "held-out loss {before} -> {after}");
}

/// Every matrix of a model, by GGUF name, as the integer base holds it.
fn matrices(base: &BaseModel) -> Vec<(String, Vec<f64>)> {
    let mut out = vec![("token_embd.weight".to_string(), base.embedding.to_f64())];
    for (l, block) in base.blocks.iter().enumerate() {
        for t in LoraTarget::ALL {
            out.push((
                format!("blk.{l}.{}.weight", t.gguf_name()),
                block.proj(t).to_f64(),
            ));
        }
    }
    out
}

#[test]
fn q8_0_tensors_are_used_as_stored_and_others_encoded_to_q8_0() {
    let config = synthetic::tiny_config(Architecture::Llama);
    let q8 = Gguf::from_bytes(synthetic::random_gguf_as(&config, Key(42), GgmlType::Q8_0).unwrap())
        .unwrap();
    let f32 = Gguf::from_bytes(synthetic::random_gguf(&config, Key(42)).unwrap()).unwrap();
    let from_q8 = BaseModel::from_gguf(&q8, BaseQuant::Int8Q8_0, 64).unwrap();
    let from_f32 = BaseModel::from_gguf(&f32, BaseQuant::Int8Q8_0, 64).unwrap();
    for ((name, ours), (_, encoded)) in matrices(&from_q8).iter().zip(matrices(&from_f32)) {
        // Exactly the file's values: its int8 values times its f16 block scales.
        let stored: Vec<f64> = q8
            .dequantize(name)
            .unwrap()
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        assert_eq!(ours, &stored, "{name}");
        // A float tensor is encoded by ggml's Q8_0 rule first: the same blocks the Q8_0 file holds.
        assert_eq!(&encoded, ours, "{name}");
        let f = f32.dequantize(name).unwrap();
        let round_trip = quant::dequantize(
            GgmlType::Q8_0,
            &quant::quantize(GgmlType::Q8_0, &f).unwrap(),
        );
        assert!(
            round_trip
                .iter()
                .zip(ours)
                .all(|(&a, &b)| f64::from(a) == b),
            "{name}"
        );
    }
    // The same weights give the same training step, bit for bit.
    let batch = pattern_batch(0, SEQ);
    let hash = |base: &BaseModel| {
        let trainer = Trainer::new(base, Cpu::new(), train_config(4, 8.0, 10), Key(99));
        let mut state = trainer.initial_state(Key(1));
        let report = trainer.step(&mut state, &batch).unwrap();
        (report.loss, state.hash())
    };
    let (loss, h) = hash(&from_q8);
    assert_eq!((loss, h), hash(&from_f32));
    // And about the loss of the per-row int8 base (the tiny model's weights are uniform, so both grids are fine).
    let per_row = BaseModel::from_gguf(&f32, BaseQuant::Int8PerRow, 64).unwrap();
    let (row_loss, _) = hash(&per_row);
    println!("tiny llama step-0 loss: int8-q8_0 {loss:.4}, int8-row {row_loss:.4}");
    assert!(
        (loss - row_loss).abs() < 0.05 * row_loss,
        "{loss} vs {row_loss}"
    );
}

#[test]
fn q8_0_needs_whole_blocks_and_int8_range() {
    let w = vec![0.5f32; 2 * 40];
    let err = BaseQuant::Int8Q8_0.apply(2, 40, &w).unwrap_err();
    assert!(matches!(err, LinearError::Group(_)), "{err}");
    assert!(err.to_string().contains("multiple of 32"), "{err}");
    let mut block = tern_kernels::io::gguf::BlockQ8_0 {
        d: quant::f32_to_f16(0.25),
        qs: [1; 32],
    };
    block.qs[5] = -128;
    let err = tern_kernels::model::int8_from_q8_0(1, 32, &[block]).unwrap_err();
    assert!(err.to_string().contains("-128"), "{err}");
    // A block with scale 0 is all zeros; a negative scale flips the values.
    let zero = tern_kernels::io::gguf::BlockQ8_0 { d: 0, qs: [7; 32] };
    let negative = tern_kernels::io::gguf::BlockQ8_0 {
        d: quant::f32_to_f16(-0.5),
        qs: [2; 32],
    };
    let layer = tern_kernels::model::int8_from_q8_0(1, 64, &[zero, negative]).unwrap();
    let w = layer.to_f64();
    assert!(
        w[..32].iter().all(|&v| v == 0.0) && w[32..].iter().all(|&v| v == -1.0),
        "{w:?}"
    );
    // A model whose widths are not whole blocks is refused with the tensor's name.
    let mut config = synthetic::tiny_config(Architecture::Llama);
    config.d_ff = 48;
    let gguf = Gguf::from_bytes(synthetic::random_gguf(&config, Key(1)).unwrap()).unwrap();
    let err = BaseModel::from_gguf(&gguf, BaseQuant::Int8Q8_0, 64).unwrap_err();
    assert!(matches!(err, ModelError::Weight { .. }), "{err}");
    assert!(err.to_string().contains("ffn_down"), "{err}");
}

#[cfg(feature = "reference")]
#[test]
fn integer_weights_equal_the_reference_fake_quantization() {
    use tern_kernels::reference::quantize::fake_quantize_weight;
    // 100-wide rows (groups of 32, 32, 32 and 4), 96 for Q8_0's whole blocks.
    for (quant, cols) in [
        (BaseQuant::TernaryPerTensor, 100),
        (BaseQuant::TernaryPerRow, 100),
        (BaseQuant::TernaryPerGroup(32), 100),
        (BaseQuant::Int8PerRow, 100),
        (BaseQuant::Int8Q8_0, 96),
    ] {
        let rows = 24;
        let w: Vec<f32> = (0..rows * cols)
            .map(|i| {
                (f64::from(Key(3).word(i as u32, 0, 0)) / f64::from(u32::MAX) * 2.0 - 1.0) as f32
            })
            .collect();
        let integer = quant.apply(rows, cols, &w).unwrap().to_f64();
        let mut reference = w.clone();
        fake_quantize_weight(&mut reference, rows, cols, quant).unwrap();
        for (i, (&a, &b)) in integer.iter().zip(&reference).enumerate() {
            let b = f64::from(b);
            // Q8_0's values are int8 times f16 scales: both sides hold them exactly.
            let tol = if quant == BaseQuant::Int8Q8_0 {
                0.0
            } else {
                1e-6
            };
            assert!(
                (a - b).abs() <= tol * b.abs(),
                "{}: weight {i}: integer {a}, reference {b}",
                quant.name()
            );
        }
    }
}
