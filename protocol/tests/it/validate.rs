//! `JobSpec::validate`: every rule, each reported at its field path.

use tern_protocol::{Amount, JobSpec, LoraTarget, MAX_AMOUNT, MAX_SEED, SpecErrors};

use crate::example;

/// The errors of `spec` (which must be invalid).
fn errors(spec: &JobSpec) -> SpecErrors {
    spec.validate().expect_err("the spec should be invalid")
}

/// `edit` makes the example invalid exactly at `field`, with a message containing `hint`.
fn invalid_at(field: &str, hint: &str, edit: impl FnOnce(&mut JobSpec)) {
    let mut spec = example();
    edit(&mut spec);
    let e = errors(&spec);
    assert_eq!(e.fields(), [field], "{e}");
    let message = &e.errors[0].message;
    assert!(
        message.contains(hint),
        "{field}: `{message}` lacks `{hint}`"
    );
}

/// `edit` leaves the example valid.
fn valid(edit: impl FnOnce(&mut JobSpec)) {
    let mut spec = example();
    edit(&mut spec);
    if let Err(e) = spec.validate() {
        panic!("{e}");
    }
}

#[test]
fn example_is_valid() {
    let spec = example();
    spec.validate().unwrap();
    spec.validate_at(1_700_000_000).unwrap();
    assert_eq!(spec.escrow(), Amount::new(5_000_000 + 3 * 250_000));
    assert_eq!(spec.num_intervals(), 10);
}

#[test]
fn version() {
    invalid_at("version", "write version 1", |s| s.version = 2);
    invalid_at("version", "write version 1", |s| s.version = 0);
}

#[test]
fn base_quant() {
    for ok in [
        "int8-row",
        "int8-q8_0",
        "ternary-tensor",
        "ternary-row",
        "ternary-group-64",
        "ternary-group-1",
    ] {
        valid(|s| s.base_model.quant = ok.into());
    }
    invalid_at("base_model.quant", "unknown base quantization", |s| {
        s.base_model.quant = "fp16".into()
    });
    invalid_at("base_model.quant", "unknown base quantization", |s| {
        s.base_model.quant = "INT8-ROW".into()
    });
    invalid_at("base_model.quant", "unknown base quantization", |s| {
        s.base_model.quant = "ternary-group".into()
    });
    for bad in [
        "ternary-group-0",
        "ternary-group-",
        "ternary-group-064",
        "ternary-group-x",
        "ternary-group-+4",
    ] {
        invalid_at("base_model.quant", "positive whole number", |s| {
            s.base_model.quant = bad.into()
        });
    }
}

#[test]
fn lora_rank() {
    valid(|s| s.lora.rank = 1);
    valid(|s| s.lora.rank = 1024);
    invalid_at("lora.rank", "use 1 to 1024", |s| s.lora.rank = 0);
    invalid_at("lora.rank", "use 1 to 1024", |s| s.lora.rank = 1025);
}

#[test]
fn lora_alpha() {
    valid(|s| s.lora.alpha = 1e-6);
    valid(|s| s.lora.alpha = 1e6);
    for bad in [0.0, 9e-7, 1.000001e6, -16.0, f64::NAN, f64::INFINITY] {
        invalid_at("lora.alpha", "1e-6 to 1e6", |s| s.lora.alpha = bad);
    }
}

#[test]
fn lora_targets() {
    use LoraTarget::*;
    valid(|s| s.lora.targets = LoraTarget::ALL.to_vec());
    valid(|s| s.lora.targets = vec![Down]);
    invalid_at("lora.targets", "at least one", |s| s.lora.targets.clear());
    invalid_at("lora.targets[2]", "listed twice", |s| {
        s.lora.targets = vec![Q, V, Q]
    });
    invalid_at("lora.targets", "[q, k, v, gate]", |s| {
        s.lora.targets = vec![V, Q, K, Gate]
    });
    // Two duplicates, two errors.
    let mut spec = example();
    spec.lora.targets = vec![Up, Up, Up];
    assert_eq!(
        errors(&spec).fields(),
        ["lora.targets[1]", "lora.targets[2]"]
    );
}

#[test]
fn seeds() {
    valid(|s| s.lora.init_seed = MAX_SEED);
    invalid_at("lora.init_seed", "2^53 - 1", |s| {
        s.lora.init_seed = MAX_SEED + 1
    });
    invalid_at("training.data_seed", "2^53 - 1", |s| {
        s.training.data_seed = u64::MAX
    });
    invalid_at("training.rounding_seed", "2^53 - 1", |s| {
        s.training.rounding_seed = 1 << 60
    });
}

#[test]
fn training_sizes() {
    invalid_at("training.batch_size", "at least 1", |s| {
        s.training.batch_size = 0
    });
    invalid_at("training.seq_len", "at least 2", |s| s.training.seq_len = 1);
    valid(|s| s.training.seq_len = 2);
    // Zero steps: the steps error alone (0 is divisible by k, and the interval rules have nothing to check).
    invalid_at("training.steps", "at least 1", |s| {
        s.training.steps = 0;
        s.training.schedule.warmup_steps = 0;
    });
}

#[test]
fn schedule() {
    valid(|s| s.training.schedule.peak = 1.0);
    valid(|s| s.training.schedule.min = 0.0);
    valid(|s| s.training.schedule.min = s.training.schedule.peak);
    valid(|s| s.training.schedule.warmup_steps = s.training.steps);
    for bad in [0.0, -1e-3, 1.5, f64::NAN] {
        invalid_at("training.schedule.peak", "above 0 and at most 1", |s| {
            s.training.schedule.peak = bad;
            s.training.schedule.min = 0.0;
        });
    }
    invalid_at("training.schedule.min", "from 0 to the peak", |s| {
        s.training.schedule.min = 2e-3
    });
    invalid_at("training.schedule.min", "from 0 to the peak", |s| {
        s.training.schedule.min = -1e-4
    });
    invalid_at(
        "training.schedule.warmup_steps",
        "at most training.steps",
        |s| s.training.schedule.warmup_steps = 101,
    );
}

#[test]
fn optimizer() {
    valid(|s| s.training.optimizer.beta1 = 0.0);
    valid(|s| s.training.optimizer.weight_decay = 1.0);
    invalid_at(
        "training.optimizer.beta1",
        "up to but not including 1",
        |s| s.training.optimizer.beta1 = 1.0,
    );
    invalid_at(
        "training.optimizer.beta2",
        "up to but not including 1",
        |s| s.training.optimizer.beta2 = -0.1,
    );
    invalid_at("training.optimizer.eps", "above 0", |s| {
        s.training.optimizer.eps = 0.0
    });
    invalid_at("training.optimizer.eps", "above 0", |s| {
        s.training.optimizer.eps = 2.0
    });
    invalid_at("training.optimizer.weight_decay", "from 0 to 1", |s| {
        s.training.optimizer.weight_decay = -0.01
    });
    invalid_at("training.optimizer.weight_decay", "from 0 to 1", |s| {
        s.training.optimizer.weight_decay = 1.5
    });
}

#[test]
fn checkpoint_interval() {
    valid(|s| s.verification.checkpoint_interval = 20); // n = 5, s = 3 needs 5
    invalid_at("verification.checkpoint_interval", "at least 1", |s| {
        s.verification.checkpoint_interval = 0
    });
    invalid_at(
        "verification.checkpoint_interval",
        "does not divide the 100",
        |s| s.verification.checkpoint_interval = 30,
    );
}

#[test]
fn sample_count() {
    // n = 10: s = 5 needs 9 intervals, s = 6 needs 11.
    valid(|s| {
        s.verification.sample_count = 5;
        s.verification.verifiers = 5;
    });
    invalid_at("verification.sample_count", "sample at most 5", |s| {
        s.verification.sample_count = 6
    });
    invalid_at("verification.sample_count", "use 1 to 16", |s| {
        s.verification.sample_count = 0;
    });
    invalid_at("verification.sample_count", "use 1 to 16", |s| {
        s.training.steps = 1000;
        s.verification.checkpoint_interval = 1;
        s.verification.sample_count = 17;
    });
    valid(|s| {
        s.training.steps = 1000;
        s.verification.checkpoint_interval = 1;
        s.verification.sample_count = 16;
    });
    // The contract's edge: 2s - 1 == n.
    valid(|s| {
        s.training.steps = 50;
        s.verification.checkpoint_interval = 10;
        s.verification.sample_count = 3;
    });
    invalid_at(
        "verification.sample_count",
        "need at least 5 intervals",
        |s| {
            s.training.steps = 40;
            s.verification.sample_count = 3;
        },
    );
}

#[test]
fn verifiers() {
    valid(|s| s.verification.verifiers = 1);
    invalid_at(
        "verification.verifiers",
        "use 1 to the number of sampled intervals (3)",
        |s| s.verification.verifiers = 0,
    );
    invalid_at(
        "verification.verifiers",
        "use 1 to the number of sampled intervals (3)",
        |s| s.verification.verifiers = 4,
    );
}

#[test]
fn price() {
    valid(|s| s.price.verifier_fee = Amount::ZERO);
    valid(|s| s.price.reward = Amount::new(MAX_AMOUNT));
    invalid_at("price.reward", "more than 0", |s| {
        s.price.reward = Amount::ZERO
    });
    invalid_at("price.worker_bond", "more than 0", |s| {
        s.price.worker_bond = Amount::ZERO
    });
    invalid_at("price.reward", "2^72 - 1", |s| {
        s.price.reward = Amount::new(MAX_AMOUNT + 1)
    });
    invalid_at("price.verifier_fee", "2^72 - 1", |s| {
        s.price.verifier_fee = Amount::new(u128::MAX)
    });
    invalid_at("price.worker_bond", "2^72 - 1", |s| {
        s.price.worker_bond = Amount::new(1 << 72)
    });
}

#[test]
fn deadlines() {
    valid(|s| {
        s.deadlines.open_until = u64::from(u32::MAX) - 1;
        s.deadlines.train_duration = 1;
    });
    invalid_at("deadlines.open_until", "at most 4294967295", |s| {
        s.deadlines.open_until = 0
    });
    invalid_at("deadlines.open_until", "at most 4294967295", |s| {
        s.deadlines.open_until = u64::from(u32::MAX) + 1
    });
    invalid_at("deadlines.train_duration", "at least 1 second", |s| {
        s.deadlines.train_duration = 0
    });
    invalid_at("deadlines.train_duration", "passes 4294967295", |s| {
        s.deadlines.open_until = u64::from(u32::MAX) - 10;
        s.deadlines.train_duration = 11;
    });
}

#[test]
fn validate_at_checks_the_clock() {
    let spec = example();
    let open_until = spec.deadlines.open_until;
    spec.validate_at(open_until - 1).unwrap();
    let e = spec.validate_at(open_until).unwrap_err();
    assert_eq!(e.fields(), ["deadlines.open_until"]);
    assert!(e.errors[0].message.contains("closed already"), "{e}");
    // Other errors stay, in order, the clock's last.
    let mut bad = example();
    bad.lora.rank = 0;
    assert_eq!(
        bad.validate_at(u64::MAX).unwrap_err().fields(),
        ["lora.rank", "deadlines.open_until"]
    );
}

#[test]
fn every_invalid_field_is_reported() {
    let mut s = example();
    s.version = 7;
    s.base_model.quant = "int4".into();
    s.lora.rank = 0;
    s.lora.alpha = 0.0;
    s.lora.targets.clear();
    s.lora.init_seed = u64::MAX;
    s.training.batch_size = 0;
    s.training.seq_len = 0;
    s.training.schedule.peak = 0.0;
    s.training.schedule.min = -1.0;
    s.training.schedule.warmup_steps = 1000;
    s.training.optimizer.beta1 = 1.0;
    s.training.optimizer.beta2 = 1.0;
    s.training.optimizer.eps = 0.0;
    s.training.optimizer.weight_decay = -1.0;
    s.training.data_seed = u64::MAX;
    s.training.rounding_seed = u64::MAX;
    s.verification.checkpoint_interval = 7;
    s.verification.sample_count = 17;
    s.verification.verifiers = 0;
    s.price.reward = Amount::ZERO;
    s.price.verifier_fee = Amount::new(u128::MAX);
    s.price.worker_bond = Amount::ZERO;
    s.deadlines.open_until = 0;
    s.deadlines.train_duration = 0;
    let e = errors(&s);
    assert_eq!(
        e.fields(),
        [
            "version",
            "base_model.quant",
            "lora.rank",
            "lora.alpha",
            "lora.targets",
            "lora.init_seed",
            "training.batch_size",
            "training.seq_len",
            "training.schedule.peak",
            "training.schedule.min",
            "training.schedule.warmup_steps",
            "training.optimizer.beta1",
            "training.optimizer.beta2",
            "training.optimizer.eps",
            "training.optimizer.weight_decay",
            "training.data_seed",
            "training.rounding_seed",
            "verification.checkpoint_interval",
            "verification.sample_count",
            "verification.verifiers",
            "price.reward",
            "price.verifier_fee",
            "price.worker_bond",
            "deadlines.open_until",
            "deadlines.train_duration",
        ]
    );
    let text = e.to_string();
    assert!(
        text.starts_with("invalid job spec (25 errors)\n  version: "),
        "{text}"
    );
    // The shape a web API returns.
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["errors"][2]["field"], "lora.rank");
    assert!(
        json["errors"][2]["message"]
            .as_str()
            .unwrap()
            .contains("1 to 1024")
    );
}
