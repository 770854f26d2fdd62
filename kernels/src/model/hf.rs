//! Hugging Face checkpoints: `config.json` and safetensors weights, for the llama family and BitNet b1.58.
//!
//! BitNet's projections may be packed ternary (U8, four values a byte, with a per-tensor `weight_scale`; see
//! [`crate::io::safetensors::bitnet`]) or floats. Packed weights become ternary projections exactly: the stored
//! values with the real scale that `quantization_config.linear_class` implies (`BitLinear`: `1 / weight_scale`,
//! `AutoBitLinear`: `weight_scale`, computed in f32 as transformers does), whatever `quant` asks for. Float weights
//! go through `quant` like a GGUF's.
//!
//! Hugging Face rotates the two halves of each head, Tern (like GGUF's llama files) adjacent pairs, so Q and K rows
//! are reordered at load by [`permute_rows`], as llama.cpp's converter does; a ternary weight stays ternary.

use serde::Deserialize;

use super::{
    base::{BaseModel, ModelError, Weight, WeightSource},
    config::{Architecture, ModelConfig},
    quantize::BaseQuant,
};
use crate::{
    export::permute_rows,
    io::safetensors::{BitnetLinearClass, Dtype, Safetensors},
};

/// The part of a Hugging Face `config.json` Tern reads (other keys are ignored).
#[derive(Debug, Deserialize)]
struct HfConfig {
    model_type: String,
    hidden_size: usize,
    intermediate_size: usize,
    num_attention_heads: usize,
    num_hidden_layers: usize,
    num_key_value_heads: Option<usize>,
    vocab_size: usize,
    max_position_embeddings: Option<usize>,
    rms_norm_eps: Option<f32>,
    rope_theta: Option<f32>,
    hidden_act: Option<String>,
    rope_scaling: Option<serde_json::Value>,
    quantization_config: Option<QuantizationConfig>,
}

#[derive(Debug, Deserialize)]
struct QuantizationConfig {
    linear_class: Option<String>,
}

/// A Hugging Face checkpoint seen through GGUF tensor names.
struct HfSource<'a> {
    st: &'a Safetensors,
    config: &'a ModelConfig,
    class: BitnetLinearClass,
}

impl BaseModel {
    /// Loads a Hugging Face checkpoint (`config_json`, the text of its `config.json`, and its weights) and quantizes
    /// its float projections by `quant`; packed BitNet weights are taken exactly (see [`crate::model`]'s `hf`
    /// module docs). RoPE tables cover `max_positions` tokens.
    pub fn from_safetensors(
        st: &Safetensors,
        config_json: &str,
        quant: BaseQuant,
        max_positions: usize,
    ) -> Result<Self, ModelError> {
        let (config, class) = config_from_hf(config_json, st)?;
        let src = HfSource {
            st,
            config: &config,
            class,
        };
        Self::assemble(config.clone(), quant, max_positions, &src)
    }
}

/// Reads a [`ModelConfig`] from a Hugging Face `config.json`; `st` tells whether the LM head is tied (no
/// `lm_head.weight`). Also returns the BitNet layer class, which fixes what a packed weight's scale means.
pub fn config_from_hf(
    config_json: &str,
    st: &Safetensors,
) -> Result<(ModelConfig, BitnetLinearClass), ModelError> {
    let hf: HfConfig = serde_json::from_str(config_json)
        .map_err(|e| ModelError::Config(format!("not a model configuration: {e}")))?;
    let (architecture, act) = match hf.model_type.as_str() {
        "llama" => (Architecture::Llama, "silu"),
        "bitnet" => (Architecture::Bitnet, "relu2"),
        other => return Err(ModelError::Architecture(other.into())),
    };
    if let Some(given) = hf.hidden_act.as_deref()
        && given != act
    {
        return Err(ModelError::Config(format!(
            "model_type {} with hidden_act {given:?}: Tern's {} blocks use {act:?}",
            hf.model_type, hf.model_type
        )));
    }
    if hf.rope_scaling.as_ref().is_some_and(|v| !v.is_null()) {
        return Err(ModelError::Config(
            "rope_scaling is set: Tern's RoPE has no scaling; use a model without it".into(),
        ));
    }
    let linear_class = hf
        .quantization_config
        .as_ref()
        .and_then(|q| q.linear_class.as_deref());
    let class = BitnetLinearClass::from_config_name(linear_class).ok_or_else(|| {
        ModelError::Config(format!(
            "quantization_config.linear_class {linear_class:?} is not one Tern knows (bitlinear, autobitlinear)"
        ))
    })?;
    let n_kv_heads = hf.num_key_value_heads.unwrap_or(hf.num_attention_heads);
    let config = ModelConfig {
        architecture,
        n_layers: hf.num_hidden_layers,
        d_model: hf.hidden_size,
        n_heads: hf.num_attention_heads,
        n_kv_heads,
        d_ff: hf.intermediate_size,
        vocab_size: hf.vocab_size,
        rope_theta: hf.rope_theta.unwrap_or(10_000.0),
        rms_eps: hf.rms_norm_eps.unwrap_or(1e-5),
        tied_embeddings: !st.contains("lm_head.weight"),
        context_length: hf.max_position_embeddings.unwrap_or(2048),
    };
    let counts = [
        config.n_layers,
        config.d_model,
        config.n_heads,
        config.d_ff,
        config.vocab_size,
    ];
    if counts.iter().any(|&c| c == 0 || c > 1 << 20)
        || n_kv_heads == 0
        || !config.n_heads.is_multiple_of(n_kv_heads)
        || !config.d_model.is_multiple_of(config.n_heads)
        || !config.head_dim().is_multiple_of(2)
    {
        return Err(ModelError::Config(format!(
            "{} layers of width {} with {} heads / {n_kv_heads} kv heads, MLP {}, vocabulary {}: counts must be in \
             1..=2^20, heads must divide the width into even head widths and kv heads must divide heads",
            config.n_layers, config.d_model, config.n_heads, config.d_ff, config.vocab_size
        )));
    }
    Ok((config, class))
}

/// The Hugging Face name of a GGUF tensor name.
fn hf_name(gguf: &str) -> Option<String> {
    let fixed = match gguf {
        "token_embd.weight" => Some("model.embed_tokens.weight"),
        "output.weight" => Some("lm_head.weight"),
        "output_norm.weight" => Some("model.norm.weight"),
        _ => None,
    };
    if let Some(name) = fixed {
        return Some(name.into());
    }
    let rest = gguf.strip_prefix("blk.")?;
    let (layer, stem) = rest.split_once('.')?;
    let stem = stem.strip_suffix(".weight")?;
    let hf = match stem {
        "attn_norm" => "input_layernorm",
        "ffn_norm" => "post_attention_layernorm",
        "attn_sub_norm" => "self_attn.attn_sub_norm",
        "ffn_sub_norm" => "mlp.ffn_sub_norm",
        "attn_q" => "self_attn.q_proj",
        "attn_k" => "self_attn.k_proj",
        "attn_v" => "self_attn.v_proj",
        "attn_output" => "self_attn.o_proj",
        "ffn_gate" => "mlp.gate_proj",
        "ffn_up" => "mlp.up_proj",
        "ffn_down" => "mlp.down_proj",
        _ => return None,
    };
    Some(format!("model.layers.{layer}.{hf}.weight"))
}

impl HfSource<'_> {
    fn name(&self, gguf: &str) -> Result<String, ModelError> {
        hf_name(gguf).ok_or_else(|| ModelError::Config(format!("no Hugging Face name for {gguf}")))
    }

    /// Q and K rows from Hugging Face's half-split order to adjacent pairs.
    fn reorder<T: Copy>(
        &self,
        gguf: &str,
        values: Vec<T>,
        cols: usize,
    ) -> Result<Vec<T>, ModelError> {
        let heads = if gguf.ends_with(".attn_q.weight") {
            self.config.n_heads
        } else if gguf.ends_with(".attn_k.weight") {
            self.config.n_kv_heads
        } else {
            return Ok(values);
        };
        permute_rows(&values, cols, heads).map_err(|e| ModelError::Config(format!("{gguf}: {e}")))
    }
}

impl WeightSource for HfSource<'_> {
    fn matrix(
        &self,
        name: &str,
        rows: usize,
        cols: usize,
        _q8_0: bool,
    ) -> Result<Weight, ModelError> {
        let hf = self.name(name)?;
        let entry = self.st.tensor(&hf)?;
        let shape_error = |got: &[usize]| ModelError::Shape {
            name: hf.clone(),
            got: got.iter().rev().map(|&d| d as u64).collect(),
            want: vec![cols as u64, rows as u64],
        };
        if entry.dtype == Dtype::U8 {
            let t = self.st.ternary(&hf)?;
            if t.shape != [rows, cols] {
                return Err(shape_error(&t.shape));
            }
            return Ok(Weight::Ternary {
                values: self.reorder(name, t.values, cols)?,
                scale: f64::from(self.class.real_scale(t.weight_scale)),
            });
        }
        if entry.shape != [rows, cols] {
            return Err(shape_error(&entry.shape));
        }
        Ok(Weight::Float(self.reorder(
            name,
            self.st.to_f32(&hf)?,
            cols,
        )?))
    }

    fn vector(&self, name: &str, width: usize) -> Result<Vec<f32>, ModelError> {
        let hf = self.name(name)?;
        let entry = self.st.tensor(&hf)?;
        if entry.shape != [width] {
            return Err(ModelError::Shape {
                name: hf,
                got: entry.shape.iter().map(|&d| d as u64).collect(),
                want: vec![width as u64],
            });
        }
        Ok(self.st.to_f32(&hf)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_hugging_face() {
        assert_eq!(
            hf_name("blk.3.attn_sub_norm.weight").as_deref(),
            Some("model.layers.3.self_attn.attn_sub_norm.weight")
        );
        assert_eq!(
            hf_name("blk.0.ffn_down.weight").as_deref(),
            Some("model.layers.0.mlp.down_proj.weight")
        );
        assert_eq!(
            hf_name("token_embd.weight").as_deref(),
            Some("model.embed_tokens.weight")
        );
        assert_eq!(hf_name("blk.0.bogus.weight"), None);
    }
}
