//! The forward and backward pass of the base model with LoRA adapters, in integers.
//!
//! Memory ([`ActivationMemory`]): the forward pass keeps either every block's intermediates or only each block's
//! input (`[tokens × d_model]`), and then the backward pass recomputes a block's intermediates from it just before
//! differentiating that block (activation checkpointing per block). Both give the same bits. The LM head and loss
//! run over blocks of [`HEAD_CHUNK`] tokens, so the `[tokens × vocab]` logits never exist at once.

use super::{
    base::BaseModel,
    config::{LoraTarget, ModelConfig},
};
use crate::{
    cpu::{Cpu, CpuError},
    fixed::scale::Multiplier,
    ops::{CrossEntropy, LoraActivations, LoraGrads, LoraShape, Rows, exact::Dense},
    train::{MASTER_FRAC, TrainState},
};

/// Tokens per LM-head block.
pub const HEAD_CHUNK: usize = 64;

/// What the forward pass of a training step keeps for the backward pass. It changes speed and memory, never a bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActivationMemory {
    /// Every block's intermediates: no second forward pass, the most memory.
    Keep,
    /// Each block's input only; a block's forward pass runs again just before its backward pass: about a third
    /// more time, intermediates of one block at a time.
    #[default]
    Recompute,
}

impl ActivationMemory {
    /// The lower-case name used in logs and flags.
    pub fn name(self) -> &'static str {
        match self {
            Self::Keep => "keep",
            Self::Recompute => "recompute",
        }
    }
}

/// The adapters of a state, as the layers use them.
pub struct Adapters {
    /// `[layer · 7 + target]` → (shape, A, B, index in the state).
    slots: Vec<Option<(LoraShape, Dense, Dense, usize)>>,
}

impl Adapters {
    /// Views `state`'s master weights as 23-bit matrices with the LoRA scale `alpha / rank`.
    pub fn from_state(config: &ModelConfig, state: &TrainState, alpha: f64) -> Self {
        let mut slots = vec![None; config.n_layers * 7];
        for (i, ad) in state.adapters.iter().enumerate() {
            let scale = Multiplier::from_f64(alpha / ad.rank as f64)
                .expect("alpha / rank is a valid multiplier");
            let shape = LoraShape {
                rank: ad.rank,
                in_features: ad.in_features,
                out_features: ad.out_features,
                scale,
            };
            let a = Dense::from_fixed(ad.rank, ad.in_features, &ad.a, MASTER_FRAC);
            let b = Dense::from_fixed(ad.out_features, ad.rank, &ad.b, MASTER_FRAC);
            slots[usize::from(ad.layer) * 7 + ad.target as usize] = Some((shape, a, b, i));
        }
        Self { slots }
    }

    fn get(&self, layer: usize, target: LoraTarget) -> Option<&(LoraShape, Dense, Dense, usize)> {
        self.slots[layer * 7 + target as usize].as_ref()
    }
}

/// One block's intermediates, recomputed for its backward pass.
struct BlockTrace {
    a_in: Rows,
    q: Rows,
    k: Rows,
    v: Rows,
    att: Rows,
    o_in: Rows,
    x_mid: Rows,
    m_in: Rows,
    gate: Rows,
    up: Rows,
    h: Rows,
    down_in: Rows,
    lora: [Option<LoraActivations>; 7],
}

/// What the forward pass through the blocks leaves.
struct Trunk {
    block_inputs: Vec<Rows>,
    /// Each block's intermediates, or none when they are recomputed.
    traces: Vec<BlockTrace>,
    out: Rows,
}

/// Where each row sits: its position in its sequence, and the sequence length.
struct Layout {
    positions: Vec<u32>,
    seq_len: usize,
}

impl Layout {
    fn new(tokens: usize, seq_len: usize) -> Self {
        assert!(
            seq_len > 0 && tokens.is_multiple_of(seq_len),
            "tokens are not whole sequences"
        );
        Self {
            positions: (0..tokens).map(|i| (i % seq_len) as u32).collect(),
            seq_len,
        }
    }
}

/// Loss, token count and adapter gradients of one batch.
pub struct BatchGradients {
    /// Mean loss over counted tokens (display only).
    pub loss: f64,
    /// Counted target tokens.
    pub tokens: usize,
    /// One entry per adapter of the state, in state order.
    pub grads: Vec<Option<LoraGrads>>,
}

/// The model with its adapters for one pass.
pub struct Transformer<'a> {
    base: &'a BaseModel,
    adapters: &'a Adapters,
    cpu: &'a Cpu,
    ce: CrossEntropy,
}

impl<'a> Transformer<'a> {
    /// Binds a base model, adapters and the CPU backend.
    pub fn new(base: &'a BaseModel, adapters: &'a Adapters, cpu: &'a Cpu) -> Self {
        Self {
            base,
            adapters,
            cpu,
            ce: CrossEntropy::new(),
        }
    }

    fn project(
        &self,
        l: usize,
        t: LoraTarget,
        x: &Rows,
        acts: &mut [Option<LoraActivations>; 7],
    ) -> Result<Rows, CpuError> {
        let y = self.base.blocks[l].proj(t).forward(self.cpu, x)?;
        Ok(match self.adapters.get(l, t) {
            Some((shape, a, b, _)) => {
                let (z, act) = shape.forward(self.cpu, x, a, b);
                acts[t as usize] = Some(act);
                y.add(&z)
            }
            None => y,
        })
    }

    fn project_back(
        &self,
        l: usize,
        t: LoraTarget,
        x: &Rows,
        trace: &BlockTrace,
        dy: &Rows,
        grads: &mut [Option<LoraGrads>],
    ) -> Result<Rows, CpuError> {
        let dx = self.base.blocks[l].proj(t).backward(self.cpu, dy)?;
        Ok(match (self.adapters.get(l, t), &trace.lora[t as usize]) {
            (Some((shape, a, b, index)), Some(act)) => {
                let (dx_lora, g) = shape.backward(self.cpu, x, act, a, b, dy);
                grads[*index] = Some(g);
                dx.add(&dx_lora)
            }
            _ => dx,
        })
    }

    fn block_forward(
        &self,
        l: usize,
        x: &Rows,
        at: &Layout,
    ) -> Result<(Rows, BlockTrace), CpuError> {
        let blk = &self.base.blocks[l];
        let mut lora: [Option<LoraActivations>; 7] = Default::default();
        let a_in = blk.attn_norm.forward(x);
        let q = self.base.rope.forward(
            &self.project(l, LoraTarget::Q, &a_in, &mut lora)?,
            &at.positions,
        );
        let k = self.base.rope.forward(
            &self.project(l, LoraTarget::K, &a_in, &mut lora)?,
            &at.positions,
        );
        let v = self.project(l, LoraTarget::V, &a_in, &mut lora)?;
        let att = self
            .base
            .attention
            .forward(&q, &k, &v, at.seq_len, self.cpu);
        let o_in = match &blk.attn_sub_norm {
            Some(n) => n.forward(&att),
            None => att.clone(),
        };
        let x_mid = x.add(&self.project(l, LoraTarget::O, &o_in, &mut lora)?);
        let m_in = blk.ffn_norm.forward(&x_mid);
        let gate = self.project(l, LoraTarget::Gate, &m_in, &mut lora)?;
        let up = self.project(l, LoraTarget::Up, &m_in, &mut lora)?;
        let h = self.base.glu.forward(&gate, &up, self.cpu.threads());
        let down_in = match &blk.ffn_sub_norm {
            Some(n) => n.forward(&h),
            None => h.clone(),
        };
        let out = x_mid.add(&self.project(l, LoraTarget::Down, &down_in, &mut lora)?);
        Ok((
            out,
            BlockTrace {
                a_in,
                q,
                k,
                v,
                att,
                o_in,
                x_mid,
                m_in,
                gate,
                up,
                h,
                down_in,
                lora,
            },
        ))
    }

    fn block_backward(
        &self,
        l: usize,
        x: &Rows,
        tr: &BlockTrace,
        d_out: &Rows,
        at: &Layout,
        grads: &mut [Option<LoraGrads>],
    ) -> Result<Rows, CpuError> {
        let blk = &self.base.blocks[l];
        // MLP half: out = x_mid + down(sub(glu(gate(m_in), up(m_in)))).
        let d_down_in = self.project_back(l, LoraTarget::Down, &tr.down_in, tr, d_out, grads)?;
        let dh = match &blk.ffn_sub_norm {
            Some(n) => n.backward(&tr.h, &d_down_in),
            None => d_down_in,
        };
        let (d_gate, d_up) = self
            .base
            .glu
            .backward(&tr.gate, &tr.up, &dh, self.cpu.threads());
        let dm_in = self
            .project_back(l, LoraTarget::Gate, &tr.m_in, tr, &d_gate, grads)?
            .add(&self.project_back(l, LoraTarget::Up, &tr.m_in, tr, &d_up, grads)?);
        let dx_mid = d_out.add(&blk.ffn_norm.backward(&tr.x_mid, &dm_in));
        // Attention half: x_mid = x + o(sub(attn(rope(q(a_in)), rope(k(a_in)), v(a_in)))).
        let d_o_in = self.project_back(l, LoraTarget::O, &tr.o_in, tr, &dx_mid, grads)?;
        let d_att = match &blk.attn_sub_norm {
            Some(n) => n.backward(&tr.att, &d_o_in),
            None => d_o_in,
        };
        let (dq, dk, dv) = self
            .base
            .attention
            .backward(&tr.q, &tr.k, &tr.v, &d_att, at.seq_len, self.cpu);
        let dq = self.base.rope.backward(&dq, &at.positions);
        let dk = self.base.rope.backward(&dk, &at.positions);
        let da_in = self
            .project_back(l, LoraTarget::Q, &tr.a_in, tr, &dq, grads)?
            .add(&self.project_back(l, LoraTarget::K, &tr.a_in, tr, &dk, grads)?)
            .add(&self.project_back(l, LoraTarget::V, &tr.a_in, tr, &dv, grads)?);
        Ok(dx_mid.add(&blk.attn_norm.backward(x, &da_in)))
    }

    /// Runs the blocks; returns the final hidden state and, for a backward pass (`memory` given), each block's
    /// input and, when kept, its intermediates.
    fn trunk(
        &self,
        inputs: &[u32],
        at: &Layout,
        memory: Option<ActivationMemory>,
    ) -> Result<Trunk, CpuError> {
        let mut x = self.base.embed(inputs);
        let (mut block_inputs, mut traces) = (Vec::new(), Vec::new());
        for l in 0..self.base.blocks.len() {
            let (next, trace) = self.block_forward(l, &x, at)?;
            if memory == Some(ActivationMemory::Keep) {
                traces.push(trace);
            }
            let input = std::mem::replace(&mut x, next);
            if memory.is_some() {
                block_inputs.push(input);
            }
        }
        Ok(Trunk {
            block_inputs,
            traces,
            out: x,
        })
    }

    /// The next-token logits after `tokens` (one sequence), as f64 (generation only; nothing committed).
    pub fn next_logits(&self, tokens: &[u32]) -> Result<Vec<f64>, CpuError> {
        let at = Layout::new(tokens.len(), tokens.len());
        let x = self.trunk(tokens, &at, None)?.out;
        let last = self
            .base
            .output_norm
            .forward(&x.slice_rows(tokens.len() - 1..tokens.len()));
        Ok(self.base.head().forward(self.cpu, &last)?.to_f64())
    }

    /// Loss and LoRA gradients for `inputs` (`rows × seq_len` tokens), next-token `targets` and `mask`, keeping
    /// activations for the backward pass as `memory` says.
    pub fn loss_and_gradients(
        &self,
        inputs: &[u32],
        targets: &[u32],
        mask: &[u8],
        seq_len: usize,
        memory: ActivationMemory,
    ) -> Result<BatchGradients, CpuError> {
        let at = Layout::new(inputs.len(), seq_len);
        let Trunk {
            mut block_inputs,
            mut traces,
            out: x,
        } = self.trunk(inputs, &at, Some(memory))?;
        let xf = self.base.output_norm.forward(&x);
        let total = mask.iter().filter(|&&m| m != 0).count();
        let mut loss = 0.0;
        let mut dxf_parts = Vec::new();
        for start in (0..inputs.len()).step_by(HEAD_CHUNK) {
            let end = (start + HEAD_CHUNK).min(inputs.len());
            let logits = self
                .base
                .head()
                .forward(self.cpu, &xf.slice_rows(start..end))?;
            let out = self.ce.forward_backward(
                &logits,
                &targets[start..end],
                &mask[start..end],
                total.max(1),
                self.cpu.threads(),
            );
            loss += out.loss_sum;
            dxf_parts.push(self.base.head().backward(self.cpu, &out.dlogits)?);
        }
        let mut dx = self
            .base
            .output_norm
            .backward(&x, &Rows::concat(&dxf_parts));
        let n_adapters = self.adapters.slots.iter().flatten().count();
        let mut grads = vec![None; n_adapters];
        for l in (0..self.base.blocks.len()).rev() {
            let x = block_inputs.pop().expect("one input per block");
            let trace = match traces.pop() {
                Some(trace) => trace,
                None => self.block_forward(l, &x, &at)?.1,
            };
            dx = self.block_backward(l, &x, &trace, &dx, &at, &mut grads)?;
        }
        Ok(BatchGradients {
            loss: loss / total.max(1) as f64,
            tokens: total,
            grads,
        })
    }

    /// `(loss sum, counted tokens)` of a batch, forward only.
    pub fn loss(
        &self,
        inputs: &[u32],
        targets: &[u32],
        mask: &[u8],
        seq_len: usize,
    ) -> Result<(f64, usize), CpuError> {
        let at = Layout::new(inputs.len(), seq_len);
        let x = self.trunk(inputs, &at, None)?.out;
        let xf = self.base.output_norm.forward(&x);
        let total = mask.iter().filter(|&&m| m != 0).count();
        let mut loss = 0.0;
        for start in (0..inputs.len()).step_by(HEAD_CHUNK) {
            let end = (start + HEAD_CHUNK).min(inputs.len());
            let logits = self
                .base
                .head()
                .forward(self.cpu, &xf.slice_rows(start..end))?;
            loss += self
                .ce
                .forward_backward(
                    &logits,
                    &targets[start..end],
                    &mask[start..end],
                    total.max(1),
                    self.cpu.threads(),
                )
                .loss_sum;
        }
        Ok((loss, total))
    }
}
