//! Each command on the tiny model: what it writes and prints.

use tern_kernels::{
    io::{gguf::Gguf, safetensors::Safetensors},
    model::{BASE_QUANT_KEY, BaseModel, BaseQuant},
    train::TrainState,
};

use crate::fixture::{Scratch, file_sha256};

#[test]
fn finetune_writes_checkpoints_adapters_and_a_summary_that_match() {
    let s = Scratch::new();
    let summary = s.finetune("run", &[]).json();
    assert_eq!(summary["steps"], 4);
    assert_eq!(summary["resumed_from"], 0);
    let steps: Vec<u64> = summary["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, [0, 2, 4], "S_0, every 2 steps, and the last");
    let last = s.path("run/checkpoints/step-00000004.tstate");
    assert_eq!(summary["state_hash"], file_sha256(&last));
    let state = TrainState::decode(&std::fs::read(&last).unwrap()).unwrap();
    assert_eq!(state.step, 4);
    assert_eq!(state.adapters.len(), 2 * 3, "2 layers × q, v, down");
    assert!(
        state.adapters.iter().any(|a| a.b.iter().any(|&v| v != 0)),
        "training moved B"
    );

    let peft = s.path("run/adapter/adapter_model.safetensors");
    assert_eq!(summary["adapter_hash"], file_sha256(&peft));
    let tensors = Safetensors::from_bytes(std::fs::read(&peft).unwrap()).unwrap();
    assert_eq!(tensors.names().len(), 2 * 6);
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.path("run/adapter/adapter_config.json")).unwrap())
            .unwrap();
    assert_eq!(config["r"], 4);
    assert_eq!(config["lora_alpha"], 8.0);
    assert_eq!(
        config["target_modules"],
        serde_json::json!(["q_proj", "v_proj", "down_proj"])
    );
    let gguf = Gguf::read(s.path("run/adapter.gguf")).unwrap();
    assert_eq!(gguf.get_str("adapter.type").unwrap(), "lora");
    assert_eq!(gguf.tensors().len(), 2 * 6);
    assert_eq!(
        summary["adapter_gguf_sha256"],
        file_sha256(&s.path("run/adapter.gguf"))
    );

    let train_loss = summary["final_train_loss"].as_f64().unwrap();
    let (base, tuned) = (
        summary["val_base"]["loss"].as_f64().unwrap(),
        summary["val_adapter"]["loss"].as_f64().unwrap(),
    );
    assert!(train_loss.is_finite() && base.is_finite() && tuned.is_finite());
    assert!(
        tuned < base,
        "4 steps at lr 1e-2 on a repetitive text lower the validation loss: {base} -> {tuned}"
    );
    let log = std::fs::read_to_string(s.path("run/train_log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 4);
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.path("run/summary.json")).unwrap()).unwrap();
    assert_eq!(written, summary);
}

#[test]
fn eval_prints_base_and_adapter_perplexity_on_the_held_out_split() {
    let s = Scratch::new();
    s.finetune("run", &[]).ok();
    // A run directory: its latest checkpoint and its settings.
    let out = s.worker(&["eval", "--checkpoint", "run"]).ok();
    let perplexity = |prefix: &str| -> f64 {
        let line = out
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{out}"));
        let after = line.split("perplexity ").nth(1).unwrap();
        after.split_whitespace().next().unwrap().parse().unwrap()
    };
    let (base, tuned) = (perplexity("base "), perplexity("base+adapter"));
    assert!(tuned < base && tuned > 1.0, "{out}");
    assert!(out.contains("checkpoint step 4"), "{out}");
    // A checkpoint file gives the same numbers as the summary's (same split, same batches).
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.path("run/summary.json")).unwrap()).unwrap();
    let json = s
        .worker(&[
            "eval",
            "--checkpoint",
            "run/checkpoints/step-00000004.tstate",
            "--json",
        ])
        .json();
    assert_eq!(json["adapter"], summary["val_adapter"]);
    assert_eq!(json["base"], summary["val_base"]);
    // An earlier checkpoint is another adapter.
    let early = s
        .worker(&[
            "eval",
            "--checkpoint",
            "run/checkpoints/step-00000002.tstate",
            "--json",
        ])
        .json();
    assert_eq!(early["checkpoint_step"], 2);
    assert_ne!(early["adapter"], json["adapter"]);
}

#[test]
fn convert_writes_a_base_that_loads_back_and_reports_each_quantization() {
    let s = Scratch::new();
    let out = s
        .worker(&[
            "convert",
            "--model",
            "model.gguf",
            "--quant",
            "ternary-row",
            "--output",
            "ternary.gguf",
            "--eval-text",
            "corpus.txt",
            "--seq-len",
            "16",
            "--eval-sequences",
            "4",
            "--threads",
            "1",
        ])
        .ok();
    assert!(out.contains("wrote ternary.gguf"), "{out}");
    for what in [
        "source as ternary-tensor",
        "source as ternary-row",
        "source as int8-row",
        "written file",
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(what) && l.contains("perplexity")),
            "{what}:\n{out}"
        );
    }
    let written = Gguf::read(s.path("ternary.gguf")).unwrap();
    assert_eq!(written.get_str(BASE_QUANT_KEY).unwrap(), "ternary-row");
    let reloaded = BaseModel::from_gguf(&written, BaseQuant::TernaryPerRow, 16).unwrap();
    let source = Gguf::read(s.path("model.gguf")).unwrap();
    let ternary = BaseModel::from_gguf(&source, BaseQuant::TernaryPerRow, 16).unwrap();
    let (a, b) = (
        ternary.blocks[1].proj[6].to_f64(),
        reloaded.blocks[1].proj[6].to_f64(),
    );
    assert!(
        a.iter()
            .zip(&b)
            .all(|(x, y)| (x - y).abs() <= x.abs() * 1e-6)
    );
    // The written file's perplexity is the ternary-row one it was made from.
    let value = |prefix: &str| -> f64 {
        let line = out.lines().find(|l| l.starts_with(prefix)).unwrap();
        line.split("perplexity ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (row, file) = (value("source as ternary-row"), value("written file"));
    assert!((row - file).abs() < row * 1e-3, "{row} vs {file}");
    // It trains like any model file.
    s.worker(&[
        "finetune",
        "--model",
        "ternary.gguf",
        "--quant",
        "int8-row",
        "--dataset",
        "corpus.txt",
        "--output",
        "t",
        "--steps",
        "1",
        "--seq-len",
        "16",
        "--batch-size",
        "2",
        "--val-batches",
        "1",
        "--no-progress",
    ])
    .ok();
}

#[test]
fn generate_prints_tokens_with_and_without_an_adapter() {
    let s = Scratch::new();
    let ids = |out: &str| -> Vec<u32> {
        let line = out
            .lines()
            .find(|l| l.starts_with("ids:"))
            .unwrap_or_else(|| panic!("no ids in:\n{out}"));
        line["ids:".len()..]
            .split_whitespace()
            .map(|t| t.parse().unwrap())
            .collect()
    };
    let base = s
        .worker(&[
            "generate",
            "--model",
            "model.gguf",
            "--prompt",
            "one little",
            "--max-tokens",
            "6",
            "--ids",
        ])
        .ok();
    let base_ids = ids(&base);
    assert!(!base_ids.is_empty() && base_ids.len() <= 6, "{base}");
    assert!(base_ids.iter().all(|&t| t < 260));
    let again = s
        .worker(&[
            "generate",
            "--model",
            "model.gguf",
            "--prompt",
            "one little",
            "--max-tokens",
            "6",
            "--ids",
        ])
        .ok();
    assert_eq!(ids(&again), base_ids, "greedy decoding is deterministic");

    s.finetune("run", &[]).ok();
    let tuned = s
        .worker(&[
            "generate",
            "--checkpoint",
            "run",
            "--prompt",
            "one little",
            "--max-tokens",
            "6",
            "--ids",
        ])
        .ok();
    assert!(!ids(&tuned).is_empty());
    let sampled = s
        .worker(&[
            "generate",
            "--model",
            "model.gguf",
            "--prompt",
            "two",
            "--max-tokens",
            "5",
            "--temperature",
            "1.0",
            "--seed",
            "3",
            "--chat",
            "--ids",
        ])
        .ok();
    assert!(!ids(&sampled).is_empty());
}

#[test]
fn settings_come_from_file_then_environment_then_flags() {
    let s = Scratch::new();
    std::fs::write(
        s.path("tern.toml"),
        "model = \"model.gguf\"\ndataset = \"corpus.txt\"\nsteps = 2\nseq_len = 16\nbatch_size = 2\nrank = 2\n\
         targets = [\"o\"]\nval_batches = 1\nthreads = 1\n",
    )
    .unwrap();
    let file_only = s
        .worker(&[
            "finetune",
            "--config",
            "tern.toml",
            "-o",
            "a",
            "--no-progress",
        ])
        .json();
    assert_eq!(file_only["steps"], 2);
    assert_eq!(file_only["run"]["config"]["rank"], 2);
    assert_eq!(
        file_only["run"]["config"]["targets"],
        serde_json::json!(["o"])
    );
    let env = s
        .worker_env(
            &[
                "finetune",
                "--config",
                "tern.toml",
                "-o",
                "b",
                "--no-progress",
            ],
            &[("TERN_STEPS", "3"), ("TERN_RANK", "3")],
        )
        .json();
    assert_eq!(env["steps"], 3);
    assert_eq!(env["run"]["config"]["rank"], 3);
    let flags = s
        .worker_env(
            &[
                "finetune",
                "--config",
                "tern.toml",
                "-o",
                "c",
                "--rank",
                "1",
                "--no-progress",
            ],
            &[("TERN_STEPS", "3"), ("TERN_RANK", "3")],
        )
        .json();
    assert_eq!(flags["steps"], 3);
    assert_eq!(flags["run"]["config"]["rank"], 1);
}

#[test]
fn finetune_trains_on_chat_jsonl_with_the_model_template() {
    let s = Scratch::new();
    let lines: String = (0..40)
        .map(|i| {
            format!(
                "{{\"messages\": [{{\"role\": \"user\", \"content\": \"count {i}\"}}, \
                 {{\"role\": \"assistant\", \"content\": \"{} {}\"}}]}}\n",
                i + 1,
                i + 2
            )
        })
        .collect();
    std::fs::write(s.path("chat.jsonl"), lines).unwrap();
    let summary = s
        .finetune(
            "chat",
            &["--dataset", "chat.jsonl", "--seq-len", "48", "--steps", "2"],
        )
        .json();
    assert_eq!(summary["run"]["config"]["dataset_format"], "auto");
    assert!(summary["val_adapter"]["tokens"].as_u64().unwrap() > 0);
    let err = s
        .finetune("chat2", &["--dataset", "chat.jsonl", "--seq-len", "4"])
        .fails();
    assert!(err.contains("chat.jsonl"), "{err}");
}
