//! `S_i`: the whole training state, its canonical bytes and its hash (DESIGN.md §3.2).
//!
//! The state is the step counter plus, for every adapted projection, the LoRA master weights `A` and `B` and their
//! AdamW moments. Everything else a step reads (the frozen base, the data, the hyperparameters, the keys) comes
//! from the job spec. A checkpoint file is exactly [`TrainState::encode`], so its content id is the state hash.
//!
//! Encoding, all integers little-endian:
//! ```text
//! magic "TERNST02" · step u32 · master_frac u8 · adapter count u32
//! per adapter, in (layer, target) order:
//!   layer u16 · target u8 (index in LoraTarget::ALL) · rank u16 · in u32 · out u32
//!   A: rank·in i32 · B: out·rank i32
//!   moments of A, then of B, each: m mantissas i32 · m exponents i32 · v mantissas · v exponents (one exponent
//!   per element)
//! ```

use super::adamw::{MASTER_FRAC, Moments};
use crate::{
    model::{LoraTarget, ModelConfig},
    ops::rows::{MANT_BITS, Rows},
    rng::Key,
};
use sha2::{Digest, Sha256};
use thiserror::Error;

const MAGIC: &[u8; 8] = b"TERNST02";

/// A checkpoint that cannot be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum StateError {
    /// The bytes do not start with the checkpoint magic.
    #[error(
        "not a Tern training checkpoint of this version (expected magic TERNST02): is this the right file, written by this version?"
    )]
    Magic,
    /// The bytes end early.
    #[error(
        "checkpoint truncated at byte {at} while reading {what}: the file is incomplete, fetch it again"
    )]
    Truncated {
        /// Offset where data ran out.
        at: usize,
        /// What was being read.
        what: &'static str,
    },
    /// Bytes follow the last adapter.
    #[error("checkpoint has {0} unexpected bytes after the last adapter")]
    Trailing(usize),
    /// A field is out of its range.
    #[error("checkpoint field {field} is invalid: {detail}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
}

/// One adapted projection's trainable state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterState {
    /// Transformer block index.
    pub layer: u16,
    /// Which projection.
    pub target: LoraTarget,
    /// Rank `r`.
    pub rank: usize,
    /// Input width.
    pub in_features: usize,
    /// Output width.
    pub out_features: usize,
    /// `A`, `r × in`, fixed point with [`MASTER_FRAC`] fractional bits.
    pub a: Vec<i32>,
    /// `B`, `out × r`, fixed point.
    pub b: Vec<i32>,
    /// AdamW moments of `A`.
    pub a_moments: Moments,
    /// AdamW moments of `B`.
    pub b_moments: Moments,
}

/// `S_i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainState {
    /// Steps taken (`i`).
    pub step: u32,
    /// Adapters in (layer, target) order.
    pub adapters: Vec<AdapterState>,
}

/// Largest adapter dimension a checkpoint may declare (guards allocation on hostile input).
const MAX_DIM: usize = 1 << 20;
/// Largest rank.
const MAX_RANK: usize = 1024;

impl TrainState {
    /// `S_0`: `A` uniform in `±1/sqrt(in)` (PEFT's default bound) drawn from `key` (the job's LoRA-init key),
    /// `B = 0`, zero moments.
    pub fn init(config: &ModelConfig, rank: usize, targets: &[LoraTarget], key: Key) -> Self {
        let mut targets = targets.to_vec();
        targets.sort();
        targets.dedup();
        let mut adapters = Vec::new();
        for layer in 0..config.n_layers {
            for &target in &targets {
                let (out_features, in_features) = target.shape(config);
                let bound = ((1u64 << MASTER_FRAC) as f64 / (in_features as f64).sqrt()) as u32;
                let tensor = (layer * LoraTarget::ALL.len() + target_index(target)) as u32;
                let a = (0..rank * in_features)
                    .map(|i| key.below(2 * bound + 1, tensor, i as u32, 0) as i32 - bound as i32)
                    .collect();
                adapters.push(AdapterState {
                    layer: layer as u16,
                    target,
                    rank,
                    in_features,
                    out_features,
                    a,
                    b: vec![0; out_features * rank],
                    a_moments: Moments::zeros(rank, in_features),
                    b_moments: Moments::zeros(out_features, rank),
                });
            }
        }
        Self { step: 0, adapters }
    }

    /// The canonical bytes (the checkpoint file).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.step.to_le_bytes());
        out.push(MASTER_FRAC as u8);
        out.extend_from_slice(&(self.adapters.len() as u32).to_le_bytes());
        for ad in &self.adapters {
            out.extend_from_slice(&ad.layer.to_le_bytes());
            out.push(target_index(ad.target) as u8);
            out.extend_from_slice(&(ad.rank as u16).to_le_bytes());
            out.extend_from_slice(&(ad.in_features as u32).to_le_bytes());
            out.extend_from_slice(&(ad.out_features as u32).to_le_bytes());
            put_i32s(&mut out, &ad.a);
            put_i32s(&mut out, &ad.b);
            for mom in [&ad.a_moments, &ad.b_moments] {
                for rows in [&mom.m, &mom.v] {
                    put_i32s(&mut out, &rows.mant);
                    put_i32s(&mut out, &rows.exp);
                }
            }
        }
        out
    }

    fn encoded_len(&self) -> usize {
        8 + 4
            + 1
            + 4
            + self
                .adapters
                .iter()
                .map(|a| 13 + 20 * (a.a.len() + a.b.len()))
                .sum::<usize>()
    }

    /// `sha256(encode())`: the state hash committed in the trace.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.encode()).into()
    }

    /// Decodes a checkpoint, checking every length and range.
    pub fn decode(bytes: &[u8]) -> Result<Self, StateError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(8, "magic")? != MAGIC {
            return Err(StateError::Magic);
        }
        let step = r.u32("step")?;
        let frac = r.take(1, "master_frac")?[0];
        if u32::from(frac) != MASTER_FRAC {
            return Err(invalid(
                "master_frac",
                format!("{frac}, this build uses {MASTER_FRAC}"),
            ));
        }
        let count = r.u32("adapter count")? as usize;
        // Each adapter takes at least 13 bytes: a count beyond that is a lie.
        if count > bytes.len() / 13 {
            return Err(invalid(
                "adapter count",
                format!("{count} adapters cannot fit in {} bytes", bytes.len()),
            ));
        }
        let mut adapters = Vec::with_capacity(count);
        for _ in 0..count {
            let layer = r.u16("layer")?;
            let t = r.take(1, "target")?[0] as usize;
            let target = *LoraTarget::ALL
                .get(t)
                .ok_or_else(|| invalid("target", format!("index {t} is not a projection")))?;
            let rank = usize::from(r.u16("rank")?);
            let in_features = r.u32("in_features")? as usize;
            let out_features = r.u32("out_features")? as usize;
            if rank == 0
                || rank > MAX_RANK
                || in_features == 0
                || in_features > MAX_DIM
                || out_features == 0
                || out_features > MAX_DIM
            {
                return Err(invalid(
                    "adapter shape",
                    format!("rank {rank}, {in_features} in, {out_features} out"),
                ));
            }
            let a = r.i32s(rank * in_features, "A")?;
            let b = r.i32s(out_features * rank, "B")?;
            let a_moments = r.moments(rank, in_features)?;
            let b_moments = r.moments(out_features, rank)?;
            adapters.push(AdapterState {
                layer,
                target,
                rank,
                in_features,
                out_features,
                a,
                b,
                a_moments,
                b_moments,
            });
        }
        if r.at != bytes.len() {
            return Err(StateError::Trailing(bytes.len() - r.at));
        }
        let keys: Vec<(u16, LoraTarget)> = adapters.iter().map(|a| (a.layer, a.target)).collect();
        if keys.windows(2).any(|w| w[0] >= w[1]) {
            return Err(invalid(
                "adapter order",
                "adapters must be in strictly increasing (layer, target) order".into(),
            ));
        }
        Ok(Self { step, adapters })
    }
}

fn target_index(target: LoraTarget) -> usize {
    LoraTarget::ALL
        .iter()
        .position(|&t| t == target)
        .expect("every target is in ALL")
}

fn invalid(field: &'static str, detail: String) -> StateError {
    StateError::Invalid { field, detail }
}

fn put_i32s(out: &mut Vec<u8>, values: &[i32]) {
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], StateError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(StateError::Truncated { at: self.at, what })?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, StateError> {
        Ok(u16::from_le_bytes(
            self.take(2, what)?.try_into().expect("2 bytes"),
        ))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, StateError> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }

    fn i32s(&mut self, n: usize, what: &'static str) -> Result<Vec<i32>, StateError> {
        let len = n
            .checked_mul(4)
            .ok_or(StateError::Truncated { at: self.at, what })?;
        Ok(self
            .take(len, what)?
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }

    fn rows(
        &mut self,
        rows: usize,
        cols: usize,
        what: &'static str,
        non_negative: bool,
    ) -> Result<Rows, StateError> {
        let mant = self.i32s(rows * cols, what)?;
        let exp = self.i32s(rows, what)?;
        let limit = 1i32 << MANT_BITS;
        if mant
            .iter()
            .any(|&m| m <= -limit || m >= limit || (non_negative && m < 0))
        {
            return Err(invalid(
                what,
                "a mantissa is outside the 23-bit range (or negative in a second moment)".into(),
            ));
        }
        Ok(Rows { cols, mant, exp })
    }

    fn moments(&mut self, rows: usize, cols: usize) -> Result<Moments, StateError> {
        Ok(Moments {
            m: self.rows(rows * cols, 1, "first moment", false)?,
            v: self.rows(rows * cols, 1, "second moment", true)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ModelConfig {
        ModelConfig {
            n_layers: 2,
            d_model: 16,
            n_heads: 4,
            n_kv_heads: 2,
            d_ff: 32,
            vocab_size: 50,
            ..ModelConfig::smollm2_135m()
        }
    }

    #[test]
    fn init_is_deterministic_and_bounded() {
        let s = TrainState::init(
            &tiny(),
            4,
            &[LoraTarget::V, LoraTarget::Q, LoraTarget::Q],
            Key(1),
        );
        assert_eq!(
            s.adapters.len(),
            4,
            "2 layers × {{q, v}}, duplicates removed"
        );
        assert_eq!(s.adapters[0].target, LoraTarget::Q);
        let bound = (1i64 << MASTER_FRAC) as f64 / 4.0; // 1/sqrt(16)
        assert!(
            s.adapters
                .iter()
                .all(|a| a.a.iter().all(|&v| f64::from(v).abs() <= bound))
        );
        assert!(s.adapters.iter().all(|a| a.b.iter().all(|&v| v == 0)));
        assert_eq!(
            s,
            TrainState::init(&tiny(), 4, &[LoraTarget::Q, LoraTarget::V], Key(1))
        );
        assert_ne!(
            s.hash(),
            TrainState::init(&tiny(), 4, &[LoraTarget::Q, LoraTarget::V], Key(2)).hash()
        );
    }

    #[test]
    fn encode_decode_round_trip_and_length() {
        let mut s = TrainState::init(&tiny(), 2, &LoraTarget::ALL, Key(3));
        s.step = 17;
        s.adapters[3].a_moments.v.mant[5] = 12345;
        s.adapters[3].a_moments.v.exp[1] = -77;
        let bytes = s.encode();
        assert_eq!(bytes.len(), s.encoded_len());
        assert_eq!(TrainState::decode(&bytes).unwrap(), s);
    }

    #[test]
    fn hostile_checkpoints_are_errors() {
        let s = TrainState::init(&tiny(), 2, &[LoraTarget::O], Key(4));
        let bytes = s.encode();
        for cut in [0, 7, 8, 12, 20, bytes.len() - 1] {
            assert!(
                TrainState::decode(&bytes[..cut]).is_err(),
                "truncated at {cut}"
            );
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(TrainState::decode(&extra), Err(StateError::Trailing(1)));
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert_eq!(TrainState::decode(&bad), Err(StateError::Magic));
        let mut huge = bytes.clone();
        huge[13..17].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            TrainState::decode(&huge),
            Err(StateError::Invalid {
                field: "adapter count",
                ..
            })
        ));
        let mut bad_target = bytes.clone();
        bad_target[19] = 9;
        assert!(matches!(
            TrainState::decode(&bad_target),
            Err(StateError::Invalid {
                field: "target",
                ..
            })
        ));
        // every single-byte corruption either decodes to a different state or fails: never a panic
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x5a;
            if let Ok(decoded) = TrainState::decode(&b) {
                assert_ne!(decoded, s);
            }
        }
    }
}
