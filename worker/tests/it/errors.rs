//! Bad input ends with a message that says what is wrong, never a panic.

use crate::fixture::{Scratch, model_bytes, tiny_config};

#[test]
fn missing_model_or_dataset_says_which_file() {
    let s = Scratch::new();
    let err = s
        .worker(&[
            "finetune",
            "--model",
            "nope.gguf",
            "--dataset",
            "corpus.txt",
            "-o",
            "r",
        ])
        .fails();
    assert!(err.contains("model file nope.gguf does not exist"), "{err}");
    let err = s
        .worker(&[
            "finetune",
            "--model",
            "model.gguf",
            "--dataset",
            "nope.txt",
            "-o",
            "r",
        ])
        .fails();
    assert!(err.contains("dataset nope.txt does not exist"), "{err}");
    let err = s
        .worker(&["generate", "--model", "nope.gguf", "--prompt", "x"])
        .fails();
    assert!(err.contains("does not exist"), "{err}");
    let err = s
        .worker(&["convert", "--model", "nope.gguf", "--output", "x.gguf"])
        .fails();
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn a_file_that_is_not_a_model_or_a_dataset_too_small_is_refused() {
    let s = Scratch::new();
    let err = s
        .worker(&[
            "finetune",
            "--model",
            "corpus.txt",
            "--dataset",
            "corpus.txt",
            "-o",
            "r",
        ])
        .fails();
    assert!(err.contains("not a GGUF file"), "{err}");
    std::fs::write(s.path("short.txt"), "too short").unwrap();
    let err = s.finetune("r", &["--dataset", "short.txt"]).fails();
    assert!(
        err.contains("add data, or lower seq_len or the batch size"),
        "{err}"
    );
    let err = s.finetune("r", &["--quant", "int4"]).fails();
    assert!(err.contains("ternary-row"), "{err}");
    let err = s.finetune("r", &["--targets", "q,x"]).fails();
    assert!(err.contains("unknown LoRA target `x`"), "{err}");
    std::fs::write(s.path("bad.toml"), "stepz = 3\n").unwrap();
    let err = s.worker(&["finetune", "--config", "bad.toml"]).fails();
    assert!(err.contains("bad.toml") && err.contains("stepz"), "{err}");
}

#[test]
fn a_corrupt_checkpoint_is_named_and_not_trained_on() {
    let s = Scratch::new();
    s.finetune("run", &["--stop-at", "2"]).ok();
    let last = s.path("run/checkpoints/step-00000002.tstate");
    let bytes = std::fs::read(&last).unwrap();
    std::fs::write(&last, &bytes[..bytes.len() / 2]).unwrap();
    let err = s.finetune("run", &["--resume"]).fails();
    assert!(
        err.contains("step-00000002.tstate") && err.contains("truncated"),
        "{err}"
    );

    std::fs::write(s.path("garbage.tstate"), b"definitely not a checkpoint").unwrap();
    let err = s
        .worker(&[
            "eval",
            "--checkpoint",
            "garbage.tstate",
            "--model",
            "model.gguf",
            "--dataset",
            "corpus.txt",
        ])
        .fails();
    assert!(err.contains("not a Tern training checkpoint"), "{err}");
    let err = s
        .worker(&[
            "generate",
            "--checkpoint",
            "garbage.tstate",
            "--alpha",
            "8",
            "--model",
            "model.gguf",
            "-p",
            "x",
        ])
        .fails();
    assert!(err.contains("not a Tern training checkpoint"), "{err}");
}

#[test]
fn a_run_resumes_only_under_its_own_settings_and_model() {
    let s = Scratch::new();
    s.finetune("run", &["--stop-at", "2"]).ok();
    let err = s.finetune("run", &[]).fails();
    assert!(err.contains("pass --resume"), "{err}");
    let err = s.finetune("run", &["--resume", "--rank", "8"]).fails();
    assert!(err.contains("rank: 4 -> 8"), "{err}");
    let err = s.finetune("run", &["--resume", "--seed", "1"]).fails();
    assert!(err.contains("seed: 0 -> 1"), "{err}");

    // Another model of the same shapes: same settings, other bytes.
    std::fs::write(s.path("other.gguf"), model_bytes(&tiny_config(), 7)).unwrap();
    let err = s
        .finetune("run", &["--resume", "--model", "other.gguf"])
        .fails();
    assert!(err.contains("model sha256"), "{err}");
    let err = s
        .worker(&["eval", "--checkpoint", "run", "--model", "other.gguf"])
        .fails();
    assert!(err.contains("wrong model"), "{err}");

    // A checkpoint of another shape, used without its run.json, is refused by its shapes.
    let wide = tern_kernels::model::ModelConfig {
        d_model: 64,
        ..tiny_config()
    };
    std::fs::write(s.path("wide.gguf"), model_bytes(&wide, 1)).unwrap();
    std::fs::copy(
        s.path("run/checkpoints/step-00000002.tstate"),
        s.path("loose.tstate"),
    )
    .unwrap();
    let err = s
        .worker(&[
            "eval",
            "--checkpoint",
            "loose.tstate",
            "--model",
            "wide.gguf",
            "--dataset",
            "corpus.txt",
            "--seq-len",
            "16",
        ])
        .fails();
    assert!(
        err.contains("does not fit") && err.contains("another model"),
        "{err}"
    );
    let err = s
        .worker(&[
            "generate",
            "--checkpoint",
            "loose.tstate",
            "--model",
            "model.gguf",
            "-p",
            "x",
        ])
        .fails();
    assert!(err.contains("--alpha"), "{err}");
}

#[test]
fn out_of_range_numbers_are_refused_before_any_work() {
    let s = Scratch::new();
    let err = s.finetune("r", &["--seq-len", "1000000000000"]).fails();
    assert!(err.contains("context length"), "{err}");
    let err = s.finetune("r", &["--alpha", "1e300"]).fails();
    assert!(err.contains("alpha"), "{err}");
    let err = s
        .worker(&[
            "generate",
            "--model",
            "model.gguf",
            "-p",
            "x",
            "--max-tokens",
            "100000",
        ])
        .fails();
    assert!(err.contains("context length"), "{err}");
    let err = s
        .worker(&[
            "generate",
            "--model",
            "model.gguf",
            "-p",
            "x",
            "--temperature=-1",
        ])
        .fails();
    assert!(err.contains("temperature"), "{err}");
    let err = s.finetune("r", &["--steps", "0"]).fails();
    assert!(err.contains("steps is 0"), "{err}");
}

#[test]
fn a_step_beyond_the_memory_limit_is_refused_before_the_run_starts() {
    let s = Scratch::new();
    let big = ["--seq-len", "64", "--batch-size", "8"];
    let err = s
        .finetune("r", &[&big[..], &["--memory-limit-mib", "1"]].concat())
        .fails();
    assert!(
        err.contains("this run cannot start") && err.contains("lower the batch size"),
        "{err}"
    );
    assert!(!s.path("r").exists(), "a refused run writes nothing");
    s.finetune("r", &[&big[..], &["--memory-limit-mib", "256"]].concat())
        .ok();
    assert!(s.path("r/summary.json").exists());
}
