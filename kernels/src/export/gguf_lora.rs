//! A llama.cpp LoRA adapter (`llama-cli --lora adapter.gguf`).
//!
//! What llama.cpp's loader checks (`src/llama-adapter.cpp`): `general.type = "adapter"`, `adapter.type = "lora"`,
//! `general.architecture` equal to the model's, `adapter.lora.alpha` (f32; the branch is scaled by `alpha / r` with
//! `r` read from `lora_b`). Each adapted weight `W` named `blk.{l}.{stem}.weight` (ggml shape `[in, out]`) has
//! `blk.{l}.{stem}.weight.lora_a` with ggml shape `[in, r]` (row-major `r × in`, PEFT's `lora_A`) and
//! `….lora_b` with ggml shape `[r, out]` (row-major `out × r`, PEFT's `lora_B`). Rows stay in GGUF order: the
//! adapter applies to the GGUF weights it was trained on.

use super::check::{layout, masters_to_f32};
use super::error::ExportError;
use crate::io::gguf::{GgmlType, GgufWriter, MetaValue};
use crate::model::ModelConfig;
use crate::train::TrainState;

/// Exports `state` as an F32 GGUF LoRA adapter for models of `architecture` (the base file's
/// `general.architecture`, e.g. `llama`).
pub fn export_gguf_lora(
    state: &TrainState,
    config: &ModelConfig,
    alpha: f64,
    architecture: &str,
) -> Result<Vec<u8>, ExportError> {
    layout(state, config, alpha)?;
    let mut w = GgufWriter::new();
    w.metadata("general.architecture", MetaValue::Str(architecture.into()))?;
    w.metadata("general.type", MetaValue::Str("adapter".into()))?;
    w.metadata("adapter.type", MetaValue::Str("lora".into()))?;
    w.metadata("adapter.lora.alpha", MetaValue::F32(alpha as f32))?;
    for ad in &state.adapters {
        let name = format!("blk.{}.{}.weight", ad.layer, ad.target.gguf_name());
        let (r, input, out) = (
            ad.rank as u64,
            ad.in_features as u64,
            ad.out_features as u64,
        );
        w.tensor_f32(
            format!("{name}.lora_a"),
            &[input, r],
            GgmlType::F32,
            &masters_to_f32(&ad.a),
        )?;
        w.tensor_f32(
            format!("{name}.lora_b"),
            &[r, out],
            GgmlType::F32,
            &masters_to_f32(&ad.b),
        )?;
    }
    Ok(w.to_bytes())
}
