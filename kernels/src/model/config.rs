//! Model hyperparameters, shared by the integer trainer and the f32 reference.

use serde::{Deserialize, Serialize};

/// Which block structure the model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// Llama family (e.g. SmolLM2): RMSNorm, GQA attention with RoPE, SiLU-gated MLP.
    Llama,
    /// BitNet b1.58 family: as llama, but a squared-ReLU-gated MLP and extra RMSNorms ("sub-norms") before `o_proj`
    /// and `down_proj`.
    Bitnet,
}

/// The shapes and constants of a decoder-only transformer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Block structure.
    pub architecture: Architecture,
    /// Number of transformer blocks.
    pub n_layers: usize,
    /// Width of the residual stream (`embedding_length`).
    pub d_model: usize,
    /// Number of query heads.
    pub n_heads: usize,
    /// Number of key/value heads (GQA: `n_heads` is a multiple of it).
    pub n_kv_heads: usize,
    /// Hidden width of the MLP (`feed_forward_length`).
    pub d_ff: usize,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// RoPE base frequency.
    pub rope_theta: f32,
    /// RMSNorm epsilon.
    pub rms_eps: f32,
    /// Whether the output projection reuses the token embedding matrix.
    pub tied_embeddings: bool,
    /// The longest context the model was trained for.
    pub context_length: usize,
}

impl ModelConfig {
    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.d_model / self.n_heads
    }

    /// SmolLM2-135M's shapes (what `SmolLM2-135M-Instruct.Q4_1.gguf` declares).
    pub fn smollm2_135m() -> Self {
        Self {
            architecture: Architecture::Llama,
            n_layers: 30,
            d_model: 576,
            n_heads: 9,
            n_kv_heads: 3,
            d_ff: 1536,
            vocab_size: 49152,
            rope_theta: 100_000.0,
            rms_eps: 1e-5,
            tied_embeddings: true,
            context_length: 8192,
        }
    }
}

/// A linear layer LoRA can adapt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoraTarget {
    /// Attention query projection.
    Q,
    /// Attention key projection.
    K,
    /// Attention value projection.
    V,
    /// Attention output projection.
    O,
    /// MLP gate projection.
    Gate,
    /// MLP up projection.
    Up,
    /// MLP down projection.
    Down,
}

impl LoraTarget {
    /// All targets, in canonical order.
    pub const ALL: [Self; 7] = [
        Self::Q,
        Self::K,
        Self::V,
        Self::O,
        Self::Gate,
        Self::Up,
        Self::Down,
    ];

    /// `(out_features, in_features)` of this projection.
    pub fn shape(self, c: &ModelConfig) -> (usize, usize) {
        let kv = c.n_kv_heads * c.head_dim();
        match self {
            Self::Q | Self::O => (c.d_model, c.d_model),
            Self::K | Self::V => (kv, c.d_model),
            Self::Gate | Self::Up => (c.d_ff, c.d_model),
            Self::Down => (c.d_model, c.d_ff),
        }
    }

    /// The Hugging Face module name (`q_proj`, …), used in PEFT adapter files.
    pub fn hf_name(self) -> &'static str {
        match self {
            Self::Q => "q_proj",
            Self::K => "k_proj",
            Self::V => "v_proj",
            Self::O => "o_proj",
            Self::Gate => "gate_proj",
            Self::Up => "up_proj",
            Self::Down => "down_proj",
        }
    }

    /// The GGUF tensor name stem (`attn_q`, …): tensors are `blk.{layer}.{stem}.weight`.
    pub fn gguf_name(self) -> &'static str {
        match self {
            Self::Q => "attn_q",
            Self::K => "attn_k",
            Self::V => "attn_v",
            Self::O => "attn_output",
            Self::Gate => "ffn_gate",
            Self::Up => "ffn_up",
            Self::Down => "ffn_down",
        }
    }
}
