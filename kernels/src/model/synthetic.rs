//! Small random models written as real GGUF files: what tests, demos and benchmarks train on when no model file
//! is at hand. They go through the same writer and loader as users' files.

use super::config::{Architecture, LoraTarget, ModelConfig};
use crate::{
    io::gguf::{GgmlType, GgufError, GgufWriter, MetaValue},
    rng::Key,
};

/// A tiny llama-shaped configuration (2 blocks, width 32, 4 heads over 2 kv heads, vocabulary 64).
pub fn tiny_config(architecture: Architecture) -> ModelConfig {
    ModelConfig {
        architecture,
        n_layers: 2,
        d_model: 32,
        n_heads: 4,
        n_kv_heads: 2,
        d_ff: 64,
        vocab_size: 64,
        rope_theta: 10_000.0,
        rms_eps: 1e-5,
        tied_embeddings: true,
        context_length: 256,
    }
}

/// A GGUF file (bytes) with the shapes of `config` and seeded random F32 weights: projections uniform in
/// `±1/sqrt(in)`, embeddings in `±1`, norm scales in `[0.8, 1.2]`.
pub fn random_gguf(config: &ModelConfig, key: Key) -> Result<Vec<u8>, GgufError> {
    random_gguf_as(config, key, GgmlType::F32)
}

/// As [`random_gguf`], with the token embedding and the projections stored as `matrices` (e.g. Q8_0, as
/// llama.cpp's files hold them; the widths must be whole blocks of that type). Norms stay F32.
pub fn random_gguf_as(
    config: &ModelConfig,
    key: Key,
    matrices: GgmlType,
) -> Result<Vec<u8>, GgufError> {
    let arch = match config.architecture {
        Architecture::Llama => "llama",
        Architecture::Bitnet => "bitnet",
    };
    let mut w = GgufWriter::new();
    w.metadata("general.architecture", MetaValue::Str(arch.into()))?;
    let u32_meta = [
        ("block_count", config.n_layers),
        ("embedding_length", config.d_model),
        ("feed_forward_length", config.d_ff),
        ("attention.head_count", config.n_heads),
        ("attention.head_count_kv", config.n_kv_heads),
        ("context_length", config.context_length),
        ("vocab_size", config.vocab_size),
    ];
    for (k, v) in u32_meta {
        w.metadata(format!("{arch}.{k}"), MetaValue::U32(v as u32))?;
    }
    w.metadata(
        format!("{arch}.rope.freq_base"),
        MetaValue::F32(config.rope_theta),
    )?;
    w.metadata(
        format!("{arch}.attention.layer_norm_rms_epsilon"),
        MetaValue::F32(config.rms_eps),
    )?;
    let mut tensor_id = 0u32;
    let mut uniform = |n: usize, lo: f32, hi: f32| -> Vec<f32> {
        tensor_id += 1;
        (0..n)
            .map(|i| lo + (hi - lo) * (key.word(tensor_id, i as u32, 0) as f32 / u32::MAX as f32))
            .collect()
    };
    let d = config.d_model;
    let embd = uniform(config.vocab_size * d, -1.0, 1.0);
    w.tensor_f32(
        "token_embd.weight",
        &[d as u64, config.vocab_size as u64],
        matrices,
        &embd,
    )?;
    for l in 0..config.n_layers {
        for name in ["attn_norm", "ffn_norm"] {
            let g = uniform(d, 0.8, 1.2);
            w.tensor_f32(
                format!("blk.{l}.{name}.weight"),
                &[d as u64],
                GgmlType::F32,
                &g,
            )?;
        }
        if config.architecture == Architecture::Bitnet {
            let g = uniform(d, 0.8, 1.2);
            w.tensor_f32(
                format!("blk.{l}.attn_sub_norm.weight"),
                &[d as u64],
                GgmlType::F32,
                &g,
            )?;
            let g = uniform(config.d_ff, 0.8, 1.2);
            w.tensor_f32(
                format!("blk.{l}.ffn_sub_norm.weight"),
                &[config.d_ff as u64],
                GgmlType::F32,
                &g,
            )?;
        }
        for t in LoraTarget::ALL {
            let (rows, cols) = t.shape(config);
            let bound = 1.0 / (cols as f32).sqrt();
            let values = uniform(rows * cols, -bound, bound);
            w.tensor_f32(
                format!("blk.{l}.{}.weight", t.gguf_name()),
                &[cols as u64, rows as u64],
                matrices,
                &values,
            )?;
        }
    }
    let g = uniform(d, 0.8, 1.2);
    w.tensor_f32("output_norm.weight", &[d as u64], GgmlType::F32, &g)?;
    Ok(w.to_bytes())
}
