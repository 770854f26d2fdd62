//! Canonical JSON (RFC 8785) and specHash.

use serde_json::{Value, json};
use tern_protocol::{JobSpec, canonical_json, keccak256, spec_hash};

use crate::{example, example_text, example_value};

/// The canonical JSON of `examples/job-spec.json`, as the Python `rfc8785` package (Trail of Bits, an independent
/// RFC 8785 implementation) writes it for the same file.
const EXAMPLE_CANONICAL: &str = concat!(
    r#"{"base_model":{"id":"sha256:b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53","#,
    r#""quant":"int8-row"},"dataset":{"format":"text","#,
    r#""id":"sha256:bbe5635616c6e0e0bcf01b7b8c324be8b42451c51848f11c283bd2f4442b1e0a"},"#,
    r#""deadlines":{"open_until":1893456000,"train_duration":86400},"#,
    r#""lora":{"alpha":16,"init_seed":1,"rank":8,"targets":["q","k","v","o"]},"#,
    r#""price":{"reward":"5000000","verifier_fee":"250000","worker_bond":"2000000"},"#,
    r#""training":{"batch_size":4,"data_seed":2,"#,
    r#""optimizer":{"beta1":0.9,"beta2":0.999,"eps":1e-8,"name":"adamw","weight_decay":0},"#,
    r#""rounding_seed":3,"schedule":{"decay":"cosine","min":0.0001,"peak":0.001,"warmup_steps":10},"#,
    r#""seq_len":128,"steps":100},"#,
    r#""verification":{"checkpoint_interval":10,"sample_count":3,"verifiers":3},"version":1}"#,
);

/// keccak256 of [`EXAMPLE_CANONICAL`], computed in Python with `rfc8785.dumps` and pycryptodome's keccak
/// (`Crypto.Hash.keccak`, 256 bits) over the example file.
const EXAMPLE_SPEC_HASH: &str = "a7aa9083de6339bade55f9c52c0329e300c74f563badfbda318183819092eb2e";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn keccak_is_ethereums() {
    assert_eq!(
        hex(&keccak256(b"")),
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    );
    assert_eq!(
        hex(&keccak256(b"abc")),
        "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    );
}

#[test]
fn example_canonical_json_is_pinned() {
    let spec = example();
    assert_eq!(
        String::from_utf8(canonical_json(&spec)).unwrap(),
        EXAMPLE_CANONICAL
    );
}

#[test]
fn example_spec_hash_is_pinned() {
    assert_eq!(hex(&spec_hash(&example())), EXAMPLE_SPEC_HASH);
    assert_eq!(
        hex(&keccak256(EXAMPLE_CANONICAL.as_bytes())),
        EXAMPLE_SPEC_HASH
    );
}

#[test]
fn canonical_json_parses_back_to_the_same_spec() {
    let spec = example();
    let again = JobSpec::from_json(&canonical_json(&spec)).unwrap();
    assert_eq!(again, spec);
    assert_eq!(canonical_json(&again), canonical_json(&spec));
}

#[test]
fn key_order_and_whitespace_do_not_change_the_hash() {
    let expected = spec_hash(&example());
    // Compact, keys in the serializer's (declaration) order.
    let compact = serde_json::to_vec(&example()).unwrap();
    assert_eq!(spec_hash(&JobSpec::from_json(&compact).unwrap()), expected);
    // Pretty-printed with tabs and CRLF.
    let pretty = serde_json::to_string_pretty(&example_value())
        .unwrap()
        .replace("  ", "\t")
        .replace('\n', "\r\n");
    assert_eq!(
        spec_hash(&JobSpec::from_json(pretty.as_bytes()).unwrap()),
        expected
    );
    // Every object's keys reversed.
    let text = reverse_keys(&example_value());
    assert!(
        text.starts_with(r#"{"version":1,"verification":{"verifiers""#),
        "{text}"
    );
    assert_eq!(
        spec_hash(&JobSpec::from_json(text.as_bytes()).unwrap()),
        expected
    );
}

/// Writes objects with their keys in reverse order (`serde_json` without `preserve_order` sorts maps, so the text
/// is built by hand).
fn reverse_keys(v: &Value) -> String {
    match v {
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .rev()
                .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), reverse_keys(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(reverse_keys).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

#[test]
fn number_spelling_does_not_change_the_hash() {
    let expected = spec_hash(&example());
    let text = example_text()
        .replace("\"alpha\": 16.0", "\"alpha\": 1.6e1")
        .replace("\"peak\": 0.001", "\"peak\": 1e-3")
        .replace("\"min\": 0.0001", "\"min\": 1.0E-4")
        .replace("\"eps\": 1e-8", "\"eps\": 0.00000001")
        .replace("\"weight_decay\": 0.0", "\"weight_decay\": 0");
    assert_ne!(text, example_text());
    assert_eq!(
        spec_hash(&JobSpec::from_json(text.as_bytes()).unwrap()),
        expected
    );
}

#[test]
fn any_field_change_changes_the_hash() {
    let base = spec_hash(&example());
    let mut spec = example();
    spec.training.rounding_seed += 1;
    assert_ne!(spec_hash(&spec), base);
    let mut spec = example();
    spec.price.reward = tern_protocol::Amount::new(5_000_001);
    assert_ne!(spec_hash(&spec), base);
}

/// RFC 8785 properties of the canonicalizer, pinned so that a crate update that changes them fails here.
#[test]
fn rfc8785_properties() {
    let c = |v: &Value| String::from_utf8(serde_json_canonicalizer::to_vec(v).unwrap()).unwrap();
    // Keys sorted by UTF-16 code units, recursively; no whitespace.
    assert_eq!(
        c(&json!({"b": 1, "a": {"d": [], "c": null}})),
        r#"{"a":{"c":null,"d":[]},"b":1}"#
    );
    // RFC 8785 §3.2.3's example: U+10000 (a surrogate pair, 0xD800...) sorts before U+FB33 in UTF-16 order,
    // though after it by code point.
    assert_eq!(
        c(&json!({"\u{fb33}": 1, "\u{10000}": 2})),
        "{\"\u{10000}\":2,\"\u{fb33}\":1}"
    );
    // Numbers as ECMAScript writes doubles.
    assert_eq!(
        c(&json!([
            1e-3,
            0.001,
            1e-7,
            1e-6,
            16.0,
            0.0,
            -0.0,
            1e21,
            1e20,
            0.1 + 0.2,
            5e-324
        ])),
        "[0.001,0.001,1e-7,0.000001,16,0,0,1e+21,100000000000000000000,0.30000000000000004,5e-324]"
    );
    assert_eq!(
        c(&json!([
            1e-8,
            1.5e300,
            9007199254740991u64,
            123456789012345680000.0
        ])),
        "[1e-8,1.5e+300,9007199254740991,123456789012345680000]"
    );
    // Integers above 2^53 are doubles too (why seeds stop at 2^53 - 1).
    assert_eq!(c(&json!([9007199254740993u64])), "[9007199254740992]");
    // Minimal string escaping: control characters as \uXXXX or the short forms, no escaping of '/' or non-ASCII.
    assert_eq!(c(&json!("a/é\u{1}\n\"\\")), r#""a/é\u0001\n\"\\""#);
}
