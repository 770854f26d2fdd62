//! Integration tests of `tern-protocol`: the example spec, validation, parsing errors, canonical JSON and specHash.

mod hash;
mod parse;
mod validate;

use tern_protocol::JobSpec;

/// The example spec file, as text.
pub fn example_text() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/job-spec.json"
    ))
    .expect("read examples/job-spec.json")
}

/// The example spec, parsed and validated.
pub fn example() -> JobSpec {
    JobSpec::from_json(example_text().as_bytes()).expect("the example spec is valid")
}

/// The example as a JSON value, to edit before parsing.
pub fn example_value() -> serde_json::Value {
    serde_json::from_str(&example_text()).unwrap()
}
