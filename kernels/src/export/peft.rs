//! A Hugging Face PEFT LoRA adapter: `adapter_model.safetensors` and `adapter_config.json`.
//!
//! Tensor names are what PEFT's `save_pretrained` writes for a `LlamaForCausalLM` (the adapter name is not part of
//! saved keys): `base_model.model.model.layers.{l}.self_attn.{q,k,v,o}_proj.lora_{A,B}.weight` and
//! `base_model.model.model.layers.{l}.mlp.{gate,up,down}_proj.lora_{A,B}.weight`, `lora_A` shaped `[r, in]` and
//! `lora_B` `[out, r]`. The rows of `q_proj` and `k_proj` `lora_B` are put back in Hugging Face order
//! ([`super::permute`]).
//!
//! The bytes are a pure function of the state: the `safetensors` crate orders tensors by dtype then name, and the
//! only `__metadata__` entry is `format: pt` (the header map would not keep a stable order with several).

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::check::{layout, masters_to_f32, permuted_heads};
use super::error::ExportError;
use super::permute::unpermute_rows;
use crate::io::safetensors::{Dtype, SafetensorsWriter};
use crate::model::{LoraTarget, ModelConfig};
use crate::train::{AdapterState, TrainState};

/// A PEFT adapter directory's two files, in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeftAdapter {
    /// `adapter_model.safetensors`.
    pub safetensors: Vec<u8>,
    /// `adapter_config.json`.
    pub adapter_config_json: String,
}

/// `sha256(adapter.safetensors)`: the adapter hash of DESIGN.md §3.2.
pub fn adapter_hash(adapter: &PeftAdapter) -> [u8; 32] {
    Sha256::digest(&adapter.safetensors).into()
}

/// The PEFT tensor name stem of one projection: `base_model.model.model.layers.{l}.{self_attn|mlp}.{x}_proj`.
pub fn peft_module_name(layer: u16, target: LoraTarget) -> String {
    let block = match target {
        LoraTarget::Q | LoraTarget::K | LoraTarget::V | LoraTarget::O => "self_attn",
        LoraTarget::Gate | LoraTarget::Up | LoraTarget::Down => "mlp",
    };
    format!(
        "base_model.model.model.layers.{layer}.{block}.{}",
        target.hf_name()
    )
}

/// Exports `state` as an F32 PEFT adapter for `base_model` (the Hugging Face id or path written as
/// `base_model_name_or_path`, e.g. `HuggingFaceTB/SmolLM2-135M-Instruct`).
pub fn export_peft(
    state: &TrainState,
    config: &ModelConfig,
    alpha: f64,
    base_model: &str,
) -> Result<PeftAdapter, ExportError> {
    export_peft_as(state, config, alpha, base_model, Dtype::F32)
}

/// As [`export_peft`], storing the tensors as `dtype` (F32, F16 or BF16; narrower types round to nearest even
/// from the `f32` values).
pub fn export_peft_as(
    state: &TrainState,
    config: &ModelConfig,
    alpha: f64,
    base_model: &str,
    dtype: Dtype,
) -> Result<PeftAdapter, ExportError> {
    let layout = layout(state, config, alpha)?;
    let mut writer = SafetensorsWriter::new();
    writer.metadata("format", "pt");
    for ad in &state.adapters {
        let name = peft_module_name(ad.layer, ad.target);
        writer.add_f32(
            format!("{name}.lora_A.weight"),
            dtype,
            &[ad.rank, ad.in_features],
            &masters_to_f32(&ad.a),
        )?;
        writer.add_f32(
            format!("{name}.lora_B.weight"),
            dtype,
            &[ad.out_features, ad.rank],
            &hf_b(ad, config)?,
        )?;
    }
    let all_layers = layout.layers.len() == config.n_layers;
    let adapter_config = AdapterConfig {
        peft_type: "LORA",
        task_type: "CAUSAL_LM",
        base_model_name_or_path: base_model,
        r: layout.rank,
        lora_alpha: alpha,
        lora_dropout: 0.0,
        target_modules: layout.targets.iter().map(|t| t.hf_name()).collect(),
        bias: "none",
        fan_in_fan_out: false,
        inference_mode: true,
        init_lora_weights: true,
        use_rslora: false,
        use_dora: false,
        layers_to_transform: (!all_layers).then_some(layout.layers),
        modules_to_save: None,
        rank_pattern: BTreeMap::new(),
        alpha_pattern: BTreeMap::new(),
    };
    Ok(PeftAdapter {
        safetensors: writer.to_bytes()?,
        adapter_config_json: serde_json::to_string_pretty(&adapter_config)?,
    })
}

/// `B` as `f32` with Hugging Face row order.
fn hf_b(ad: &AdapterState, config: &ModelConfig) -> Result<Vec<f32>, ExportError> {
    let b = masters_to_f32(&ad.b);
    match permuted_heads(ad.target, config) {
        Some(heads) => unpermute_rows(&b, ad.rank, heads),
        None => Ok(b),
    }
}

/// The fields of PEFT's `LoraConfig` that a loader needs; field order is the file's key order.
#[derive(Serialize)]
struct AdapterConfig<'a> {
    peft_type: &'static str,
    task_type: &'static str,
    base_model_name_or_path: &'a str,
    r: usize,
    lora_alpha: f64,
    lora_dropout: f64,
    target_modules: Vec<&'static str>,
    bias: &'static str,
    fan_in_fan_out: bool,
    inference_mode: bool,
    init_lora_weights: bool,
    use_rslora: bool,
    use_dora: bool,
    layers_to_transform: Option<Vec<u16>>,
    modules_to_save: Option<Vec<String>>,
    // Always empty; PEFT reads them as "no per-module overrides".
    rank_pattern: BTreeMap<String, usize>,
    alpha_pattern: BTreeMap<String, f64>,
}
