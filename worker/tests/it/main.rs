//! The `worker` binary end to end on a tiny random model with a byte-level tokenizer (and, when the data cache has
//! it, on SmolLM2-135M).

mod commands;
mod errors;
mod fixture;
mod resume;
mod smollm2;
