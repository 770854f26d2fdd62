//! The frozen base model in integer form, loaded from a GGUF file.

use super::{
    config::{Architecture, LoraTarget, ModelConfig},
    quantize::{BaseQuant, int8_from_q8_0},
};
use crate::{
    io::{
        gguf::{BlockQ8_0, GgmlType, Gguf, GgufError},
        safetensors::SafetensorsError,
    },
    ops::{Activation, Attention, FrozenLinear, Glu, LinearError, RmsNorm, Rope, Rows},
};
use thiserror::Error;

/// A model file that cannot become a base model.
#[derive(Debug, Error)]
pub enum ModelError {
    /// Reading the GGUF failed.
    #[error(transparent)]
    Gguf(#[from] GgufError),
    /// Reading a safetensors checkpoint failed.
    #[error(transparent)]
    Safetensors(#[from] SafetensorsError),
    /// A Hugging Face `config.json` that does not describe a model Tern can load.
    #[error("config.json: {0}")]
    Config(String),
    /// The architecture is not one Tern trains.
    #[error(
        "model architecture `{0}` is not supported: Tern trains the llama family and BitNet b1.58"
    )]
    Architecture(String),
    /// A tensor has the wrong shape.
    #[error(
        "tensor {name} has shape {got:?}, expected {want:?} (ggml order): the file does not match its metadata"
    )]
    Shape {
        /// Tensor name.
        name: String,
        /// Its shape.
        got: Vec<u64>,
        /// The expected shape.
        want: Vec<u64>,
    },
    /// A hyperparameter is out of range.
    #[error("model metadata {key} = {value} is not usable: {why}")]
    Metadata {
        /// Metadata key.
        key: String,
        /// Its value.
        value: String,
        /// Why.
        why: &'static str,
    },
    /// A weight cannot be quantized.
    #[error("tensor {name}: {source}")]
    Weight {
        /// Tensor name.
        name: String,
        /// What went wrong.
        source: LinearError,
    },
}

/// One transformer block's frozen parts.
#[derive(Debug, Clone)]
pub struct Block {
    /// RMSNorm before attention.
    pub attn_norm: RmsNorm,
    /// Projections, indexed like [`LoraTarget::ALL`]: q, k, v, o, gate, up, down.
    pub proj: [FrozenLinear; 7],
    /// RMSNorm before the MLP.
    pub ffn_norm: RmsNorm,
    /// BitNet: RMSNorm before `o_proj`.
    pub attn_sub_norm: Option<RmsNorm>,
    /// BitNet: RMSNorm before `down_proj`.
    pub ffn_sub_norm: Option<RmsNorm>,
}

impl Block {
    /// The projection for `target`.
    pub fn proj(&self, target: LoraTarget) -> &FrozenLinear {
        &self.proj[target as usize]
    }
}

/// The frozen base: embeddings, blocks, final norm, LM head, and the shared tables.
#[derive(Debug, Clone)]
pub struct BaseModel {
    /// Shapes.
    pub config: ModelConfig,
    /// How the block projections were quantized.
    pub quant: BaseQuant,
    /// Token embeddings, int8 per row or in Q8_0 blocks ([`BaseQuant::for_embedding`]); also the LM head when
    /// tied.
    pub embedding: FrozenLinear,
    /// Blocks.
    pub blocks: Vec<Block>,
    /// Final RMSNorm.
    pub output_norm: RmsNorm,
    /// `output.weight` when the model has its own (else the embedding is the head).
    pub output: Option<FrozenLinear>,
    /// RoPE table.
    pub rope: Rope,
    /// Attention constants.
    pub attention: Attention,
    /// MLP activation.
    pub glu: Glu,
}

/// A weight as a model file holds it, before it becomes integer.
pub(super) enum Weight {
    /// Float values (stored as floats or dequantized), row-major `rows × cols`.
    Float(Vec<f32>),
    /// GGUF Q8_0 blocks in row order, to be used as stored.
    Q8_0(Vec<BlockQ8_0>),
    /// Ternary values, row-major, with one real scale for the whole tensor (BitNet's packed checkpoints).
    Ternary {
        /// Values in {-1, 0, 1}.
        values: Vec<i8>,
        /// The real weight is `value · scale`.
        scale: f64,
    },
}

/// Where [`BaseModel::assemble`] reads tensors: by GGUF name, in Tern's layout (Q/K rows in GGUF's order, for
/// RoPE on adjacent pairs), checked against the shape the configuration implies.
pub(super) trait WeightSource {
    /// The `rows × cols` matrix `name`; `q8_0` asks for stored Q8_0 blocks where the file has them.
    fn matrix(
        &self,
        name: &str,
        rows: usize,
        cols: usize,
        q8_0: bool,
    ) -> Result<Weight, ModelError>;
    /// The vector `name` of `width` values (a norm's scales).
    fn vector(&self, name: &str, width: usize) -> Result<Vec<f32>, ModelError>;
}

impl WeightSource for Gguf {
    fn matrix(
        &self,
        name: &str,
        rows: usize,
        cols: usize,
        q8_0: bool,
    ) -> Result<Weight, ModelError> {
        let info = self.tensor(name)?;
        let want = vec![cols as u64, rows as u64];
        if info.shape != want {
            return Err(ModelError::Shape {
                name: name.into(),
                got: info.shape.clone(),
                want,
            });
        }
        if q8_0 && info.ty == GgmlType::Q8_0 {
            // Q8_0 as stored: no dequantize and requantize.
            return Ok(Weight::Q8_0(self.q8_0_blocks(name)?));
        }
        Ok(Weight::Float(self.dequantize(name)?))
    }

    fn vector(&self, name: &str, width: usize) -> Result<Vec<f32>, ModelError> {
        let info = self.tensor(name)?;
        if info.shape != [width as u64] {
            return Err(ModelError::Shape {
                name: name.into(),
                got: info.shape.clone(),
                want: vec![width as u64],
            });
        }
        Ok(self.dequantize(name)?)
    }
}

impl BaseModel {
    /// Loads and quantizes a GGUF model; RoPE tables cover `max_positions` tokens.
    pub fn from_gguf(
        gguf: &Gguf,
        quant: BaseQuant,
        max_positions: usize,
    ) -> Result<Self, ModelError> {
        Self::assemble(config_from_gguf(gguf)?, quant, max_positions, gguf)
    }

    /// Builds the integer model of `config` from the tensors of `src`: the blocks' projections quantized by
    /// `quant` (ternary tensors are kept as they are), the embedding and a separate head by
    /// [`BaseQuant::for_embedding`].
    pub(super) fn assemble(
        config: ModelConfig,
        quant: BaseQuant,
        max_positions: usize,
        src: &dyn WeightSource,
    ) -> Result<Self, ModelError> {
        if max_positions > config.context_length.max(1) * 4 {
            return Err(ModelError::Metadata {
                key: "sequence length".into(),
                value: max_positions.to_string(),
                why: "far beyond the model's context length",
            });
        }
        let d = config.d_model;
        let norm = |name: &str, width: usize| -> Result<RmsNorm, ModelError> {
            Ok(RmsNorm::new(&src.vector(name, width)?, config.rms_eps))
        };
        let linear = |name: String,
                      q: BaseQuant,
                      rows: usize,
                      cols: usize|
         -> Result<FrozenLinear, ModelError> {
            let made = match src.matrix(&name, rows, cols, q == BaseQuant::Int8Q8_0)? {
                Weight::Float(w) => q.apply(rows, cols, &w),
                Weight::Q8_0(blocks) => int8_from_q8_0(rows, cols, &blocks),
                Weight::Ternary { values, scale } => {
                    FrozenLinear::ternary(rows, cols, &values, &vec![scale; rows])
                }
            };
            made.map_err(|source| ModelError::Weight { name, source })
        };
        let embedding = linear(
            "token_embd.weight".into(),
            quant.for_embedding(),
            config.vocab_size,
            d,
        )?;
        let output = if config.tied_embeddings {
            None
        } else {
            Some(linear(
                "output.weight".into(),
                quant.for_embedding(),
                config.vocab_size,
                d,
            )?)
        };
        let bitnet = config.architecture == Architecture::Bitnet;
        let mut blocks = Vec::with_capacity(config.n_layers);
        for l in 0..config.n_layers {
            let proj = LoraTarget::ALL.map(|t| {
                let (rows, cols) = t.shape(&config);
                linear(
                    format!("blk.{l}.{}.weight", t.gguf_name()),
                    quant,
                    rows,
                    cols,
                )
            });
            let [q, k, v, o, gate, up, down] = proj;
            blocks.push(Block {
                attn_norm: norm(&format!("blk.{l}.attn_norm.weight"), d)?,
                proj: [q?, k?, v?, o?, gate?, up?, down?],
                ffn_norm: norm(&format!("blk.{l}.ffn_norm.weight"), d)?,
                attn_sub_norm: if bitnet {
                    Some(norm(&format!("blk.{l}.attn_sub_norm.weight"), d)?)
                } else {
                    None
                },
                ffn_sub_norm: if bitnet {
                    Some(norm(&format!("blk.{l}.ffn_sub_norm.weight"), config.d_ff)?)
                } else {
                    None
                },
            });
        }
        Ok(Self {
            quant,
            embedding,
            output,
            output_norm: norm("output_norm.weight", d)?,
            rope: Rope::new(config.head_dim(), config.rope_theta, max_positions),
            attention: Attention::new(config.n_heads, config.n_kv_heads, config.head_dim()),
            glu: Glu::new(if bitnet {
                Activation::ReluSquared
            } else {
                Activation::Silu
            }),
            blocks,
            config,
        })
    }

    /// The LM head (the tied embedding or `output.weight`).
    pub fn head(&self) -> &FrozenLinear {
        self.output.as_ref().unwrap_or(&self.embedding)
    }

    /// Longest sequence the RoPE table covers.
    pub fn rope_positions(&self) -> usize {
        self.rope.max_positions()
    }

    /// Embedding rows for `tokens`.
    pub fn embed(&self, tokens: &[u32]) -> Rows {
        self.embedding.rows_of(tokens)
    }
}

/// Reads a [`ModelConfig`] from GGUF metadata (`general.architecture` and its `{arch}.*` keys).
pub fn config_from_gguf(gguf: &Gguf) -> Result<ModelConfig, ModelError> {
    let arch_name = gguf.get_str("general.architecture")?.to_string();
    let architecture = match arch_name.as_str() {
        "llama" => Architecture::Llama,
        "bitnet" | "bitnet-b1.58" | "bitnet-25" => Architecture::Bitnet,
        other => return Err(ModelError::Architecture(other.into())),
    };
    let key = |k: &str| format!("{arch_name}.{k}");
    let count = |k: &str| -> Result<usize, ModelError> {
        let v = gguf.get_u32(&key(k))? as usize;
        if v == 0 || v > 1 << 20 {
            return Err(ModelError::Metadata {
                key: key(k),
                value: v.to_string(),
                why: "must be in 1..=2^20",
            });
        }
        Ok(v)
    };
    let n_heads = count("attention.head_count")?;
    let n_kv_heads = gguf
        .get_u32_opt(&key("attention.head_count_kv"))?
        .map_or(n_heads, |v| v as usize);
    let d_model = count("embedding_length")?;
    if n_kv_heads == 0
        || !n_heads.is_multiple_of(n_kv_heads)
        || !d_model.is_multiple_of(n_heads)
        || (d_model / n_heads) % 2 != 0
    {
        return Err(ModelError::Metadata {
            key: key("attention.head_count"),
            value: format!("{n_heads} heads / {n_kv_heads} kv heads over width {d_model}"),
            why: "heads must divide the width into even head widths and kv heads must divide heads",
        });
    }
    let vocab_size = match gguf.get_u32_opt(&key("vocab_size"))? {
        Some(v) => v as usize,
        None => gguf
            .tensor("token_embd.weight")?
            .shape
            .get(1)
            .copied()
            .unwrap_or(0) as usize,
    };
    Ok(ModelConfig {
        architecture,
        n_layers: count("block_count")?,
        d_model,
        n_heads,
        n_kv_heads,
        d_ff: count("feed_forward_length")?,
        vocab_size,
        rope_theta: gguf
            .get_f32_opt(&key("rope.freq_base"))?
            .unwrap_or(10_000.0),
        rms_eps: gguf
            .get_f32_opt(&key("attention.layer_norm_rms_epsilon"))?
            .unwrap_or(1e-5),
        tied_embeddings: gguf.tensor("output.weight").is_err(),
        context_length: gguf
            .get_u32_opt(&key("context_length"))?
            .map_or(2048, |v| v as usize),
    })
}
