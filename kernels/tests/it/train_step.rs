//! The integer training step on a tiny random model: it learns, it is bit-identical across SIMD paths and thread
//! counts, and a run resumed from a checkpoint continues with identical state hashes.

use tern_kernels::{
    cpu::{Cpu, SimdLevel},
    data::Batch,
    model::{ActivationMemory, Architecture, BaseModel, BaseQuant},
    rng::Key,
    train::{TrainConfig, TrainState, Trainer},
};

use crate::tiny::{base as tiny_base, pattern_batch};

const SEQ: usize = 16;

fn config(steps: u32) -> TrainConfig {
    crate::tiny::train_config(4, 8.0, steps)
}

fn batch(step: u32) -> Batch {
    pattern_batch(step, SEQ)
}

fn run(
    base: &BaseModel,
    cpu: Cpu,
    state: &mut TrainState,
    steps: std::ops::Range<u32>,
) -> Vec<f64> {
    run_keeping(base, cpu, ActivationMemory::Recompute, state, steps)
}

fn run_keeping(
    base: &BaseModel,
    cpu: Cpu,
    memory: ActivationMemory,
    state: &mut TrainState,
    steps: std::ops::Range<u32>,
) -> Vec<f64> {
    let trainer = Trainer::new(base, cpu, config(40), Key(99)).with_activation_memory(memory);
    steps
        .map(|s| trainer.step(state, &batch(s)).expect("step").loss)
        .collect()
}

#[test]
fn the_integer_trainer_learns_a_pattern() {
    for (arch, quant) in [
        (Architecture::Llama, BaseQuant::TernaryPerTensor),
        (Architecture::Llama, BaseQuant::Int8PerRow),
        (Architecture::Bitnet, BaseQuant::TernaryPerRow),
    ] {
        let base = tiny_base(arch, quant);
        let trainer = Trainer::new(&base, Cpu::new(), config(40), Key(99));
        let mut state = trainer.initial_state(Key(1));
        let held_out = [batch(1000), batch(1001)];
        let (before, _) = trainer.evaluate(&state, &held_out).unwrap();
        let losses = run(&base, Cpu::new(), &mut state, 0..40);
        let (after, tokens) = trainer.evaluate(&state, &held_out).unwrap();
        assert_eq!(tokens, 2 * 2 * SEQ);
        println!(
            "{arch:?} {}: held-out loss {before:.3} -> {after:.3}; train {:.3} -> {:.3}",
            quant.name(),
            losses[0],
            losses[39]
        );
        assert!(
            after < 0.5 * before,
            "{arch:?} {quant:?}: held-out loss {before} -> {after}"
        );
        assert_eq!(state.step, 40);
    }
}

#[test]
fn state_hash_is_identical_for_every_simd_path_and_thread_count() {
    let base = tiny_base(Architecture::Llama, BaseQuant::TernaryPerTensor);
    let mut hashes = Vec::new();
    for level in SimdLevel::available() {
        for threads in [1, 2, 3] {
            let cpu = Cpu::new()
                .with_simd(level)
                .unwrap()
                .with_threads(threads)
                .unwrap();
            let mut state = Trainer::new(&base, cpu, config(40), Key(99)).initial_state(Key(1));
            run(&base, cpu, &mut state, 0..3);
            hashes.push((format!("{level:?}/{threads}"), state.hash()));
        }
    }
    assert!(hashes.len() >= 3);
    for (name, h) in &hashes {
        assert_eq!(h, &hashes[0].1, "{name} differs from {}", hashes[0].0);
    }
}

/// The integer step is a protocol: its bits are pinned, so a change that alters any rounding (and with it every
/// worker's and verifier's state hashes) shows up here and must be made on purpose, with these values updated.
/// Keeping or recomputing activations must not change them.
#[test]
fn the_state_hash_after_three_steps_is_pinned() {
    let pinned = [
        (
            Architecture::Llama,
            BaseQuant::TernaryPerTensor,
            "f863c1c61d7475c4f83bb0536f91784d09961ac97d330ba1c00b4878a69681f2",
        ),
        (
            Architecture::Llama,
            BaseQuant::Int8PerRow,
            "98e87b30a55ae11240a907acbc9d18bba99df145af53ceeb2161c0df60eab13f",
        ),
        (
            Architecture::Bitnet,
            BaseQuant::TernaryPerRow,
            "90aecea63015a0f2932bbc0425aea8cf07f28be30c201cc44b13578e544490a1",
        ),
    ];
    for (arch, quant, want) in pinned {
        let base = tiny_base(arch, quant);
        let cpu = Cpu::new();
        for memory in [ActivationMemory::Recompute, ActivationMemory::Keep] {
            let mut state = Trainer::new(&base, cpu, config(40), Key(99)).initial_state(Key(1));
            run_keeping(&base, cpu, memory, &mut state, 0..3);
            let got: String = state.hash().iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(got, want, "{arch:?} {} {}", quant.name(), memory.name());
        }
    }
}

#[test]
fn a_resumed_run_continues_with_identical_hashes() {
    let base = tiny_base(Architecture::Llama, BaseQuant::Int8PerRow);
    let cpu = Cpu::new();
    let trainer = Trainer::new(&base, cpu, config(40), Key(99));
    let mut straight = trainer.initial_state(Key(1));
    let mut straight_hashes = Vec::new();
    for s in 0..4 {
        trainer.step(&mut straight, &batch(s)).unwrap();
        straight_hashes.push(straight.hash());
    }
    let mut first = trainer.initial_state(Key(1));
    run(&base, cpu, &mut first, 0..2);
    let checkpoint = first.encode();
    drop(first);
    let mut resumed = TrainState::decode(&checkpoint).expect("checkpoint decodes");
    assert_eq!(resumed.hash(), straight_hashes[1]);
    for s in 2..4 {
        trainer.step(&mut resumed, &batch(s)).unwrap();
        assert_eq!(resumed.hash(), straight_hashes[s as usize], "step {s}");
    }
    // and the trace moves: every step changes the state
    assert!(straight_hashes.windows(2).all(|w| w[0] != w[1]));
}

#[test]
fn bad_batches_are_errors() {
    let base = tiny_base(Architecture::Llama, BaseQuant::TernaryPerTensor);
    let trainer = Trainer::new(&base, Cpu::new(), config(40), Key(99));
    let mut state = trainer.initial_state(Key(1));
    let mut b = batch(0);
    b.tokens[3] = 64;
    let err = trainer.step(&mut state, &b).unwrap_err().to_string();
    assert!(err.contains("token id 64"), "{err}");
    assert_eq!(state.step, 0, "a refused step leaves the state alone");
    let mut short = batch(0);
    short.loss_mask.pop();
    let err = trainer.step(&mut state, &short).unwrap_err().to_string();
    assert!(
        err.contains("need 34 tokens and 32 mask values; it has 34 and 31"),
        "{err}"
    );
    let mut empty = batch(0);
    empty.examples.clear();
    let err = trainer.step(&mut state, &empty).unwrap_err().to_string();
    assert!(err.contains("the batch is empty"), "{err}");
    let before = state.hash();
    assert!(trainer.evaluate(&state, [&short]).is_err());
    assert_eq!(state.hash(), before);
}

#[test]
fn generation_is_greedy_argmax_or_a_reproducible_draw() {
    use tern_kernels::model::{Adapters, Sampling, Transformer, generate};
    let base = tiny_base(Architecture::Llama, BaseQuant::Int8PerRow);
    let cpu = Cpu::new();
    let trainer = Trainer::new(&base, cpu, config(40), Key(99));
    let mut state = trainer.initial_state(Key(1));
    run(&base, cpu, &mut state, 0..5);
    let adapters = Adapters::from_state(&base.config, &state, trainer.config().alpha);
    let model = Transformer::new(&base, &adapters, &cpu);
    let prompt = [5u32, 16, 49, 20];
    let out = generate(&model, &prompt, 5, Sampling::Greedy, None).unwrap();
    // Greedy decoding is the argmax of the next-token logits, one token at a time.
    let mut tokens = prompt.to_vec();
    for &next in &out {
        let logits = model.next_logits(&tokens).unwrap();
        let best = (0..logits.len())
            .max_by(|&a, &b| logits[a].total_cmp(&logits[b]).then(b.cmp(&a)))
            .unwrap();
        assert_eq!(next as usize, best);
        tokens.push(next);
    }
    // A stop token ends generation (inclusive).
    let stopped = generate(&model, &prompt, 5, Sampling::Greedy, Some(out[1])).unwrap();
    assert_eq!(stopped, out[..stopped.len()].to_vec());
    assert!(stopped.len() <= 2);
    // Sampling is reproducible from its key and moves with it.
    let draw = |key| {
        generate(
            &model,
            &prompt,
            8,
            Sampling::Temperature {
                temperature: 2.0,
                top_k: 0,
                key,
            },
            None,
        )
        .unwrap()
    };
    assert_eq!(draw(Key(1)), draw(Key(1)));
    assert_ne!(draw(Key(1)), draw(Key(2)));
}

#[test]
fn a_spec_beyond_the_bounds_or_the_budget_is_refused_before_training() {
    use tern_kernels::train::{SpecError, StepShape};
    let base = tiny_base(Architecture::Llama, BaseQuant::Int8PerRow);
    let trainer = Trainer::new(&base, Cpu::new(), config(40), Key(99));
    let shape = StepShape {
        batch: 2,
        seq_len: SEQ,
    };
    let estimate = trainer.check_spec(shape, None).unwrap();
    assert!(estimate.total() > 0);
    // The tiny model was loaded for 64 positions.
    let err = trainer
        .check_spec(
            StepShape {
                batch: 2,
                seq_len: 65,
            },
            None,
        )
        .unwrap_err();
    assert!(matches!(err, SpecError::OutOfRange { .. }), "{err}");
    let err = trainer
        .check_spec(shape, Some(estimate.total() / 2))
        .unwrap_err();
    assert!(matches!(err, SpecError::Memory { .. }), "{err}");
}
