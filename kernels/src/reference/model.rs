//! The forward pass: a llama/BitNet decoder over frozen (fake-quantized) base weights plus the LoRA branch.

use candle_core::{D, DType, Device, Tensor};

use crate::model::{Architecture, LoraTarget, ModelConfig};

use super::error::ReferenceError;
use super::frozen_linear::FrozenLinear;
use super::head_loss::HeadCrossEntropy;
use super::lora::Lora;
use super::quantize::{ActivationQuant, fake_quantize_weight};
use super::rope::{apply_rope, rope_tables};
use super::weights::BaseWeights;
use crate::model::BaseQuant;

/// How the reference represents numbers: base weight quantization, activation quantization, float width.
///
/// The default (absmean ternary per tensor, int8 activations per token, f32) mirrors the integer trainer's own
/// representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numerics {
    /// Fake quantization of the blocks' linear weights, applied once at load, with the integer model's scheme;
    /// `None` keeps the f32 weights (a reference-only choice: the integer trainer always quantizes).
    pub base: Option<BaseQuant>,
    /// Fake quantization of the activations entering the blocks' linear layers.
    pub activations: ActivationQuant,
    /// Float width of every tensor.
    pub precision: Precision,
}

impl Default for Numerics {
    fn default() -> Self {
        Self {
            base: Some(BaseQuant::TernaryPerTensor),
            activations: ActivationQuant::default(),
            precision: Precision::default(),
        }
    }
}

impl Numerics {
    /// Plain floats everywhere: no weight or activation quantization, f32.
    pub fn float() -> Self {
        Self {
            base: None,
            activations: ActivationQuant::None,
            precision: Precision::F32,
        }
    }
}

/// Float width of the reference's tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Single precision: what training uses.
    #[default]
    F32,
    /// Double precision: for gradient checks against finite differences.
    F64,
}

impl Precision {
    pub(crate) fn dtype(self) -> DType {
        match self {
            Self::F32 => DType::F32,
            Self::F64 => DType::F64,
        }
    }
}

struct Block {
    attn_norm: Tensor,
    ffn_norm: Tensor,
    /// BitNet's RMSNorms before `o_proj` and `down_proj`.
    sub_norms: Option<(Tensor, Tensor)>,
    /// Frozen weights in `LoraTarget::ALL` order.
    linears: Vec<Tensor>,
}

/// The frozen model.
pub(crate) struct Transformer {
    config: ModelConfig,
    numerics: Numerics,
    embedding: Tensor,
    head: Tensor,
    blocks: Vec<Block>,
    output_norm: Tensor,
}

impl Transformer {
    pub(crate) fn new(
        config: &ModelConfig,
        weights: &BaseWeights,
        numerics: Numerics,
    ) -> Result<Self, ReferenceError> {
        check_config(config)?;
        let dtype = numerics.precision.dtype();
        let load = |name: &str,
                    shape: &[usize],
                    quant: Option<BaseQuant>|
         -> Result<Tensor, ReferenceError> {
            let tensor = weights.require(config, name, shape)?;
            let mut data = tensor.data.clone();
            if let (2, Some(quant)) = (shape.len(), quant) {
                fake_quantize_weight(&mut data, shape[0], shape[1], quant).map_err(|e| {
                    ReferenceError::InvalidSettings(format!("quantizing `{name}`: {e}"))
                })?;
            }
            Ok(Tensor::from_vec(data, shape, &Device::Cpu)?.to_dtype(dtype)?)
        };
        let d = config.d_model;
        let embedding = load("token_embd.weight", &[config.vocab_size, d], None)?;
        // A separate `output.weight`, when the file has one, wins over tying.
        let head = if weights.get("output.weight").is_some() || !config.tied_embeddings {
            load("output.weight", &[config.vocab_size, d], None)?
        } else {
            embedding.clone()
        };
        let mut blocks = Vec::with_capacity(config.n_layers);
        for layer in 0..config.n_layers {
            let norm = |stem: &str, width: usize| {
                load(&format!("blk.{layer}.{stem}.weight"), &[width], None)
            };
            let sub_norms = match config.architecture {
                Architecture::Llama => None,
                Architecture::Bitnet => Some((
                    norm("attn_sub_norm", d)?,
                    norm("ffn_sub_norm", config.d_ff)?,
                )),
            };
            let linears = LoraTarget::ALL
                .iter()
                .map(|t| {
                    let (out, inp) = t.shape(config);
                    load(
                        &format!("blk.{layer}.{}.weight", t.gguf_name()),
                        &[out, inp],
                        numerics.base,
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            blocks.push(Block {
                attn_norm: norm("attn_norm", d)?,
                ffn_norm: norm("ffn_norm", d)?,
                sub_norms,
                linears,
            });
        }
        let output_norm = load("output_norm.weight", &[d], None)?;
        Ok(Self {
            config: config.clone(),
            numerics,
            embedding,
            head,
            blocks,
            output_norm,
        })
    }

    pub(crate) fn dtype(&self) -> DType {
        self.numerics.precision.dtype()
    }

    /// Mean cross-entropy given `inputs` (`[batch, seq]`) over the flattened positions `selected` (indices into
    /// `batch·seq`), whose next tokens are `selected_targets`.
    pub(crate) fn loss(
        &self,
        lora: &Lora,
        inputs: &Tensor,
        selected: &Tensor,
        selected_targets: Vec<u32>,
    ) -> candle_core::Result<Tensor> {
        let (batch, seq) = inputs.dims2()?;
        let c = &self.config;
        let mut x = self.embedding.index_select(&inputs.flatten_all()?, 0)?;
        let (cos, sin) = rope_tables(seq, c.head_dim(), c.rope_theta, self.dtype())?;
        let mask = causal_mask(seq, self.dtype())?;
        for (layer, block) in self.blocks.iter().enumerate() {
            x = self.block(lora, layer, block, &x, batch, seq, (&cos, &sin), &mask)?;
        }
        // Logits only for the positions that count: chat data masks most of them.
        let hidden = self
            .rms_norm(&x, &self.output_norm)?
            .index_select(selected, 0)?;
        let head = HeadCrossEntropy::new(self.head.clone(), selected_targets);
        hidden.contiguous()?.apply_op1(head)?.mean_all()
    }

    #[allow(clippy::too_many_arguments)]
    fn block(
        &self,
        lora: &Lora,
        layer: usize,
        block: &Block,
        x: &Tensor,
        batch: usize,
        seq: usize,
        (cos, sin): (&Tensor, &Tensor),
        mask: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let c = &self.config;
        let (heads, kv_heads, head_dim) = (c.n_heads, c.n_kv_heads, c.head_dim());
        let linear =
            |target: LoraTarget, input: &Tensor| self.linear(lora, layer, block, target, input);

        let h = self.rms_norm(x, &block.attn_norm)?;
        let split = |t: Tensor, n: usize| {
            t.reshape((batch, seq, n, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = apply_rope(&split(linear(LoraTarget::Q, &h)?, heads)?, cos, sin)?;
        let k = apply_rope(&split(linear(LoraTarget::K, &h)?, kv_heads)?, cos, sin)?;
        let v = split(linear(LoraTarget::V, &h)?, kv_heads)?;
        // GQA: query head j reads key/value head j / (heads / kv_heads).
        let share = |t: Tensor| -> candle_core::Result<Tensor> {
            if heads == kv_heads {
                return Ok(t);
            }
            t.unsqueeze(2)?
                .broadcast_as((batch, kv_heads, heads / kv_heads, seq, head_dim))?
                .reshape((batch, heads, seq, head_dim))
        };
        let (k, v) = (share(k)?, share(v)?);
        let scores =
            (q.matmul(&k.t()?)? * (1.0 / (head_dim as f64).sqrt()))?.broadcast_add(mask)?;
        let attn = softmax_last(&scores)?.matmul(&v)?;
        let mut attn = attn
            .transpose(1, 2)?
            .reshape((batch * seq, heads * head_dim))?;
        if let Some((attn_sub_norm, _)) = &block.sub_norms {
            attn = self.rms_norm(&attn, attn_sub_norm)?;
        }
        let x = (x + linear(LoraTarget::O, &attn)?)?;

        let h = self.rms_norm(&x, &block.ffn_norm)?;
        let gate = linear(LoraTarget::Gate, &h)?;
        let up = linear(LoraTarget::Up, &h)?;
        let mut act = match c.architecture {
            Architecture::Llama => (gate.silu()? * up)?,
            Architecture::Bitnet => (gate.relu()?.sqr()? * up)?,
        };
        if let Some((_, ffn_sub_norm)) = &block.sub_norms {
            act = self.rms_norm(&act, ffn_sub_norm)?;
        }
        x + linear(LoraTarget::Down, &act)?
    }

    /// `q(x)·Wᵀ + LoRA(x)` on `[tokens, in]`.
    fn linear(
        &self,
        lora: &Lora,
        layer: usize,
        block: &Block,
        target: LoraTarget,
        x: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let index = LoraTarget::ALL
            .iter()
            .position(|t| *t == target)
            .unwrap_or(0);
        let x = x.contiguous()?;
        let op = FrozenLinear {
            weight: block.linears[index].clone(),
            input_quant: self.numerics.activations,
        };
        let base = x.apply_op1(op)?;
        match lora.delta(layer, target, &x)? {
            Some(delta) => base + delta,
            None => Ok(base),
        }
    }

    /// `x / √(mean(x²) + ε) · w` over the last dimension.
    fn rms_norm(&self, x: &Tensor, weight: &Tensor) -> candle_core::Result<Tensor> {
        let mean_square = x.sqr()?.mean_keepdim(D::Minus1)?;
        let inv = (mean_square + f64::from(self.config.rms_eps))?
            .sqrt()?
            .recip()?;
        x.broadcast_mul(&inv)?.broadcast_mul(weight)
    }
}

fn check_config(c: &ModelConfig) -> Result<(), ReferenceError> {
    let bad = |what: String| Err(ReferenceError::InvalidSettings(what));
    if c.n_layers == 0 || c.d_model == 0 || c.vocab_size == 0 || c.d_ff == 0 {
        return bad("n_layers, d_model, d_ff and vocab_size must all be positive".into());
    }
    if c.n_heads == 0
        || c.n_kv_heads == 0
        || !c.d_model.is_multiple_of(c.n_heads)
        || !c.n_heads.is_multiple_of(c.n_kv_heads)
    {
        return bad(format!(
            "heads do not divide: d_model {} / n_heads {} / n_kv_heads {} must each divide the one before",
            c.d_model, c.n_heads, c.n_kv_heads
        ));
    }
    if !c.head_dim().is_multiple_of(2) {
        return bad(format!(
            "RoPE rotates pairs: head_dim {} must be even",
            c.head_dim()
        ));
    }
    Ok(())
}

/// `[seq, seq]`: 0 on and below the diagonal, −∞ above (a position attends to itself and earlier ones).
fn causal_mask(seq: usize, dtype: DType) -> candle_core::Result<Tensor> {
    let values: Vec<f32> = (0..seq * seq)
        .map(|i| {
            if i % seq > i / seq {
                f32::NEG_INFINITY
            } else {
                0.0
            }
        })
        .collect();
    Tensor::from_vec(values, (seq, seq), &Device::Cpu)?.to_dtype(dtype)
}

/// Softmax over the last dimension; the row maximum is subtracted (as a constant) to keep `exp` in range.
fn softmax_last(x: &Tensor) -> candle_core::Result<Tensor> {
    let e = x
        .broadcast_sub(&x.max_keepdim(D::Minus1)?.detach())?
        .exp()?;
    e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
}
