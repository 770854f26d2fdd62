//! The frozen integer base written back as a GGUF model file, so a quantized (e.g. ternarized) base can be kept,
//! shared and content-addressed as one file.
//!
//! The file is the source model with every block projection replaced by the values the integer base really uses
//! (`q · s` per row, [`FrozenLinear::to_f64`](crate::ops::FrozenLinear::to_f64) rounded to `f32`); everything
//! else (metadata with the tokenizer, embeddings, norms) is copied byte for byte. The key `tern.base_quant` names the
//! scheme (`ternary-row`, …); `general.file_type` is dropped, since it would describe the source's encoding.
//!
//! Loading the file back quantizes it again, and reproduces the weights with the scheme it was written with: a
//! block that is already quantized keeps its scale (a ternary row of `{0, ±s}` is taken at scale `s`, not at
//! BitNet's absmean, which would be `s` times its share of non-zeros; an int8 row's absmax is `127 · s`).

use super::base::BaseModel;
use super::config::LoraTarget;
use crate::io::gguf::{GgmlType, Gguf, GgufError, GgufWriter, MetaValue};

/// The metadata key naming the quantization a converted base went through.
pub const BASE_QUANT_KEY: &str = "tern.base_quant";

/// `source` with `base`'s block projections stored as `ty` (F32 keeps every ternary value exactly and int8 values
/// to 24 significant bits; F16, BF16 or Q8_0 are smaller and round further; TQ1_0/TQ2_0 need rows that are a multiple
/// of 256 wide). `base` must have been loaded from `source`.
pub fn quantized_base_gguf(
    source: &Gguf,
    base: &BaseModel,
    ty: GgmlType,
) -> Result<GgufWriter, GgufError> {
    let mut w = GgufWriter::new();
    for (key, value) in source.meta().iter() {
        if key == "general.file_type" || key == BASE_QUANT_KEY {
            continue;
        }
        w.metadata(key, value.clone())?;
    }
    w.metadata(BASE_QUANT_KEY, MetaValue::Str(base.quant.name().into()))?;
    for info in source.tensors() {
        match projection(&info.name, base.blocks.len()) {
            Some((layer, target)) => {
                let values: Vec<f32> = base.blocks[layer]
                    .proj(target)
                    .to_f64()
                    .into_iter()
                    .map(|v| v as f32)
                    .collect();
                w.tensor_f32(info.name.clone(), &info.shape, ty, &values)?;
            }
            None => {
                w.tensor(
                    info.name.clone(),
                    &info.shape,
                    info.ty,
                    source.tensor_bytes(info).to_vec(),
                )?;
            }
        }
    }
    Ok(w)
}

/// `(layer, target)` when `name` is `blk.{layer}.{stem}.weight` of a projection the base holds.
fn projection(name: &str, layers: usize) -> Option<(usize, LoraTarget)> {
    let rest = name.strip_prefix("blk.")?.strip_suffix(".weight")?;
    let (layer, stem) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let target = LoraTarget::ALL
        .into_iter()
        .find(|t| t.gguf_name() == stem)?;
    (layer < layers).then_some((layer, target))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Architecture, BaseQuant, synthetic};
    use crate::rng::Key;

    #[test]
    fn converted_ternary_base_loads_back_as_the_same_weights_with_int8_rows() {
        let bytes =
            synthetic::random_gguf(&synthetic::tiny_config(Architecture::Llama), Key(3)).unwrap();
        let source = Gguf::from_bytes(bytes).unwrap();
        let base = BaseModel::from_gguf(&source, BaseQuant::TernaryPerRow, 16).unwrap();
        let written = quantized_base_gguf(&source, &base, GgmlType::F32).unwrap();
        let back = Gguf::from_bytes(written.to_bytes()).unwrap();
        assert_eq!(back.get_str(BASE_QUANT_KEY).unwrap(), "ternary-row");
        assert_eq!(back.tensors().len(), source.tensors().len());
        assert_eq!(
            back.tensor_data("token_embd.weight").unwrap(),
            source.tensor_data("token_embd.weight").unwrap()
        );
        let reloaded = BaseModel::from_gguf(&back, BaseQuant::Int8PerRow, 16).unwrap();
        for (a, b) in base.blocks.iter().zip(&reloaded.blocks) {
            for t in LoraTarget::ALL {
                for (x, y) in a.proj(t).to_f64().iter().zip(b.proj(t).to_f64()) {
                    assert!((x - y).abs() <= x.abs() * 1e-6, "{t:?}: {x} vs {y}");
                }
            }
        }
        assert_eq!(
            projection("blk.1.ffn_down.weight", 2),
            Some((1, LoraTarget::Down))
        );
        assert_eq!(projection("blk.2.ffn_down.weight", 2), None);
        assert_eq!(projection("blk.0.attn_norm.weight", 2), None);
    }
}
