//! A run stopped and resumed (even with another thread count) reaches the same states, bit for bit, as one that
//! never stopped.

use crate::fixture::Scratch;

#[test]
fn stopping_and_resuming_gives_the_state_hashes_of_an_uninterrupted_run() {
    let s = Scratch::new();
    let whole = s.finetune("whole", &[]).json();

    let stopped = s.finetune("split", &["--stop-at", "2"]).ok();
    assert!(stopped.contains("stopped at step 2 of 4"), "{stopped}");
    assert!(!s.path("split/summary.json").exists() && !s.path("split/adapter.gguf").exists());
    // Another thread count on resume: integer sums do not depend on how the work is split.
    let resumed = s.finetune("split", &["--resume", "--threads", "2"]).json();

    assert_eq!(resumed["resumed_from"], 2);
    for key in [
        "state_hash",
        "adapter_hash",
        "adapter_gguf_sha256",
        "checkpoints",
        "final_train_loss",
        "val_adapter",
    ] {
        assert_eq!(resumed[key], whole[key], "{key}");
    }
    assert_eq!(
        std::fs::read_to_string(s.path("split/train_log.jsonl")).unwrap(),
        std::fs::read_to_string(s.path("whole/train_log.jsonl")).unwrap()
    );

    // Resuming a finished run changes nothing.
    let again = s.finetune("whole", &["--resume"]).json();
    assert_eq!(again["state_hash"], whole["state_hash"]);
    assert_eq!(again["resumed_from"], 4);
}
