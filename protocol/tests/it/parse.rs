//! `JobSpec::from_json`: type errors with their field paths, and serde round trips.

use serde_json::{Value, json};
use tern_protocol::{DatasetFormat, FieldError, JobSpec, LoraTarget};

use crate::{example, example_value};

/// The single error `from_json` reports for the example edited by `edit`.
fn parse_error(edit: impl FnOnce(&mut Value)) -> FieldError {
    let mut v = example_value();
    edit(&mut v);
    let text = serde_json::to_vec(&v).unwrap();
    let e = JobSpec::from_json(&text).expect_err("the spec should not parse");
    assert_eq!(e.errors.len(), 1, "{e}");
    e.errors.into_iter().next().unwrap()
}

fn assert_error(e: &FieldError, field: &str, hint: &str) {
    assert_eq!(e.field, field, "{e}");
    assert!(e.message.contains(hint), "`{}` lacks `{hint}`", e.message);
}

#[test]
fn example_fields() {
    let spec = example();
    assert_eq!(spec.version, 1);
    assert_eq!(spec.dataset.format, DatasetFormat::Text);
    assert_eq!(
        spec.lora.targets,
        [LoraTarget::Q, LoraTarget::K, LoraTarget::V, LoraTarget::O]
    );
    assert_eq!(spec.training.schedule.peak, 1e-3);
    assert_eq!(spec.training.optimizer.eps, 1e-8);
    assert_eq!(spec.price.reward.base_units(), 5_000_000);
    assert_eq!(spec.price.reward.to_usdt_string(), "5");
}

#[test]
fn serde_round_trip() {
    let spec = example();
    let json = serde_json::to_string(&spec).unwrap();
    assert_eq!(serde_json::from_str::<JobSpec>(&json).unwrap(), spec);
    assert_eq!(JobSpec::from_json(json.as_bytes()).unwrap(), spec);
    // Amounts are strings, content ids are strings, enums are lowercase names.
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["price"]["verifier_fee"], "250000");
    assert!(
        v["base_model"]["id"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(v["dataset"]["format"], "text");
    assert_eq!(v["training"]["optimizer"]["name"], "adamw");
    assert_eq!(v["training"]["schedule"]["decay"], "cosine");
    // The chat format and every target name.
    let mut chat = spec.clone();
    chat.dataset.format = DatasetFormat::Chat;
    chat.lora.targets = LoraTarget::ALL.to_vec();
    let v = serde_json::to_value(&chat).unwrap();
    assert_eq!(v["dataset"]["format"], "chat");
    assert_eq!(
        v["lora"]["targets"],
        json!(["q", "k", "v", "o", "gate", "up", "down"])
    );
    assert_eq!(serde_json::from_value::<JobSpec>(v).unwrap(), chat);
}

#[test]
fn unknown_field() {
    let e = parse_error(|v| v["training"]["stepz"] = json!(1));
    assert_error(&e, "training.stepz", "unknown field");
    assert!(e.message.contains("`steps`"), "{e}");
    let e = parse_error(|v| v["extra"] = json!(true));
    assert_error(&e, "extra", "unknown field");
    let e = parse_error(|v| v["training"]["optimizer"]["momentum"] = json!(0.9));
    assert_error(&e, "training.optimizer.momentum", "unknown field");
}

#[test]
fn missing_field() {
    let e = parse_error(|v| {
        v["training"].as_object_mut().unwrap().remove("steps");
    });
    assert_error(&e, "training.steps", "missing field");
    let e = parse_error(|v| {
        v.as_object_mut().unwrap().remove("price");
    });
    assert_error(&e, "price", "missing field");
}

#[test]
fn wrong_type() {
    let e = parse_error(|v| v["training"]["steps"] = json!("100"));
    assert_error(&e, "training.steps", "invalid type");
    let e = parse_error(|v| v["training"]["steps"] = json!(-1));
    assert_error(&e, "training.steps", "invalid value");
    let e = parse_error(|v| v["training"]["steps"] = json!(1.5));
    assert_error(&e, "training.steps", "invalid type");
    let e = parse_error(|v| v["lora"]["alpha"] = json!("16"));
    assert_error(&e, "lora.alpha", "invalid type");
    let e = parse_error(|v| v["verification"]["sample_count"] = json!(1u64 << 40));
    assert_error(&e, "verification.sample_count", "invalid value");
}

#[test]
fn bad_enum_names() {
    let e = parse_error(|v| v["dataset"]["format"] = json!("jsonl"));
    assert_error(&e, "dataset.format", "unknown variant `jsonl`");
    let e = parse_error(|v| v["lora"]["targets"][1] = json!("K"));
    assert_error(&e, "lora.targets[1]", "unknown variant `K`");
    let e = parse_error(|v| v["training"]["optimizer"]["name"] = json!("sgd"));
    assert_error(&e, "training.optimizer.name", "unknown variant `sgd`");
    let e = parse_error(|v| v["training"]["schedule"]["decay"] = json!("linear"));
    assert_error(&e, "training.schedule.decay", "unknown variant `linear`");
}

#[test]
fn money_must_be_a_decimal_string() {
    let e = parse_error(|v| v["price"]["reward"] = json!(5000000));
    assert_error(&e, "price.reward", "decimal string");
    let e = parse_error(|v| v["price"]["reward"] = json!(5.0));
    assert_error(&e, "price.reward", "decimal string");
    let e = parse_error(|v| v["price"]["worker_bond"] = json!("2.5"));
    assert_error(&e, "price.worker_bond", "base units");
    let e = parse_error(|v| v["price"]["verifier_fee"] = json!("-1"));
    assert_error(&e, "price.verifier_fee", "base units");
}

#[test]
fn bad_content_id() {
    let e = parse_error(|v| {
        v["base_model"]["id"] =
            json!("b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")
    });
    assert_error(&e, "base_model.id", "starts with `sha256:`");
    let e = parse_error(|v| v["dataset"]["id"] = json!("sha256:abc"));
    assert_error(&e, "dataset.id", "64 hex digits");
    let e = parse_error(|v| {
        v["dataset"]["id"] =
            json!("sha256:BBE5635616C6E0E0BCF01B7B8C324BE8B42451C51848F11C283BD2F4442B1E0A")
    });
    assert_error(&e, "dataset.id", "lowercase");
}

#[test]
fn duplicate_field() {
    let text = r#"{"version": 1, "version": 1}"#;
    let e = JobSpec::from_json(text.as_bytes()).unwrap_err();
    assert_eq!(e.fields(), ["version"], "{e}");
    assert!(e.errors[0].message.contains("given twice"), "{e}");
}

#[test]
fn not_json() {
    let e = JobSpec::from_json(b"{\"version\": 1,").unwrap_err();
    assert_eq!(e.fields(), [""]);
    assert!(e.errors[0].message.starts_with("not valid JSON"), "{e}");
    assert!(e.errors[0].message.contains("line 1"), "{e}");
    let mut text = serde_json::to_vec(&example_value()).unwrap();
    text.extend_from_slice(b" {}");
    let e = JobSpec::from_json(&text).unwrap_err();
    assert!(e.errors[0].message.contains("trailing characters"), "{e}");
    let e = JobSpec::from_json(b"\"spec\"").unwrap_err();
    assert!(e.errors[0].message.contains("invalid type"), "{e}");
}

#[test]
fn structs_must_be_objects() {
    // serde's derive would take `[open_until, train_duration]`; a spec names its fields.
    let e = parse_error(|v| v["deadlines"] = json!([1893456000u64, 86400]));
    assert_error(&e, "deadlines", "named fields");
    let values: Vec<Value> = example_value()
        .as_object()
        .unwrap()
        .values()
        .cloned()
        .collect();
    let e = JobSpec::from_json(&serde_json::to_vec(&values).unwrap()).unwrap_err();
    assert!(e.errors.len() == 1 && e.errors[0].field.is_empty(), "{e}");
}

#[test]
fn other_version_is_reported_as_such() {
    let e = parse_error(|v| {
        v["version"] = json!(2);
        v["training"]["new_field"] = json!(1);
    });
    assert_error(&e, "version", "unsupported spec version 2");
}

#[test]
fn valid_types_but_invalid_values_are_all_reported() {
    let mut v = example_value();
    v["lora"]["rank"] = json!(0);
    v["training"]["steps"] = json!(99);
    v["price"]["reward"] = json!("0");
    let e = JobSpec::from_json(&serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert_eq!(
        e.fields(),
        [
            "lora.rank",
            "verification.checkpoint_interval",
            "price.reward"
        ]
    );
}
