//! What can go wrong when exporting an adapter.

use crate::io::{gguf::GgufError, safetensors::SafetensorsError};
use crate::model::LoraTarget;
use thiserror::Error;

/// An adapter that cannot be exported.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The state has no adapters.
    #[error(
        "the training state has no adapters: train with at least one LoRA target before exporting"
    )]
    NoAdapters,
    /// `alpha` is not a positive finite number.
    #[error("LoRA alpha {0} is not a positive finite number: pass the job's alpha")]
    Alpha(f64),
    /// Adapters of different ranks (one adapter file has one `r`).
    #[error(
        "adapters have ranks {first} and {other}: an adapter file has one rank, export states trained with one rank"
    )]
    MixedRanks {
        /// The first adapter's rank.
        first: usize,
        /// A different rank found later.
        other: usize,
    },
    /// An adapter does not fit the model configuration.
    #[error(
        "adapter of layer {layer} {target:?}: {detail}; is this state from a model with this configuration?"
    )]
    Shape {
        /// Transformer block.
        layer: u16,
        /// Projection.
        target: LoraTarget,
        /// What does not fit.
        detail: String,
    },
    /// The adapted layers do not all adapt the same projections.
    #[error(
        "layer {layer} adapts {found:?} but layer {first_layer} adapts {expected:?}: an adapter file names one set of target modules"
    )]
    UnevenTargets {
        /// The first adapted layer.
        first_layer: u16,
        /// Its projections.
        expected: Vec<LoraTarget>,
        /// A layer that differs.
        layer: u16,
        /// Its projections.
        found: Vec<LoraTarget>,
    },
    /// A Q or K matrix does not split into heads for the row permutation.
    #[error("cannot permute Q/K rows: {detail}")]
    Permutation {
        /// Why.
        detail: String,
    },
    /// A base weight given to merge has the wrong length.
    #[error("base weight has {found} values, the adapter needs {expected} ({out} × {input})")]
    BaseWeight {
        /// Values given.
        found: usize,
        /// Values needed.
        expected: usize,
        /// Output rows.
        out: usize,
        /// Input columns.
        input: usize,
    },
    /// Writing the safetensors file failed.
    #[error("writing the PEFT safetensors: {0}")]
    Safetensors(#[from] SafetensorsError),
    /// Writing the GGUF file failed.
    #[error("writing the GGUF adapter: {0}")]
    Gguf(#[from] GgufError),
    /// Writing `adapter_config.json` failed.
    #[error("writing adapter_config.json: {0}")]
    Json(#[from] serde_json::Error),
}
