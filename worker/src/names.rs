//! The names users write for base quantizations, LoRA targets and GGUF tensor types, parsed in one place for flags,
//! environment variables and configuration files alike.

use tern_kernels::{
    io::gguf::GgmlType,
    model::{BaseQuant, LoraTarget},
};

/// Parses a base quantization name (see [`BaseQuant::parse`]).
pub fn parse_quant(s: &str) -> Result<BaseQuant, String> {
    BaseQuant::parse(s)
}

/// The accepted quantization names, for messages.
pub fn quant_names() -> String {
    BaseQuant::ALL.map(BaseQuant::name).join(", ")
}

/// The short name of a target (`q`, `k`, `v`, `o`, `gate`, `up`, `down`).
pub fn target_name(t: LoraTarget) -> &'static str {
    match t {
        LoraTarget::Q => "q",
        LoraTarget::K => "k",
        LoraTarget::V => "v",
        LoraTarget::O => "o",
        LoraTarget::Gate => "gate",
        LoraTarget::Up => "up",
        LoraTarget::Down => "down",
    }
}

/// Parses one LoRA target: a short name, the Hugging Face module name (`q_proj`) or the GGUF stem (`attn_q`).
pub fn parse_target(s: &str) -> Result<LoraTarget, String> {
    let key = s.trim().to_ascii_lowercase();
    LoraTarget::ALL
        .into_iter()
        .find(|&t| key == target_name(t) || key == t.hf_name() || key == t.gguf_name())
        .ok_or_else(|| {
            format!(
                "unknown LoRA target `{s}`: use q, k, v, o, gate, up, down (or `all`), separated by commas"
            )
        })
}

/// Parses a comma-separated target list; `all` stands for every projection. The result is sorted and unique.
pub fn parse_targets(s: &str) -> Result<Vec<LoraTarget>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part.eq_ignore_ascii_case("all") {
            out.extend(LoraTarget::ALL);
        } else {
            out.push(parse_target(part)?);
        }
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err("no LoRA target given: name at least one of q, k, v, o, gate, up, down".into());
    }
    Ok(out)
}

/// Parses a GGUF tensor type for converted weights: `f32`, `f16`, `bf16`, `q8_0`, `tq1_0`, `tq2_0`.
pub fn parse_tensor_type(s: &str) -> Result<GgmlType, String> {
    const CHOICES: [GgmlType; 6] = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::Q8_0,
        GgmlType::TQ1_0,
        GgmlType::TQ2_0,
    ];
    CHOICES
        .into_iter()
        .find(|t| t.name().eq_ignore_ascii_case(s.trim()))
        .ok_or_else(|| {
            format!("unknown tensor type `{s}`: use one of f32, f16, bf16, q8_0, tq1_0, tq2_0")
        })
}

/// Serde for a [`BaseQuant`] written by its short name (`int8-row`).
pub mod quant_serde {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the short name.
    pub fn serialize<S: Serializer>(q: &BaseQuant, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(q.name())
    }

    /// Reads any accepted name.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BaseQuant, D::Error> {
        parse_quant(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Serde for a target list written as short names (`["q", "v"]`).
pub mod targets_serde {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq};

    /// Writes the short names.
    pub fn serialize<S: Serializer>(targets: &[LoraTarget], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(targets.len()))?;
        for &t in targets {
            seq.serialize_element(target_name(t))?;
        }
        seq.end()
    }

    /// Reads a list of names (or one comma-separated string).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<LoraTarget>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            List(Vec<String>),
            One(String),
        }
        let joined = match Form::deserialize(d)? {
            Form::List(v) => v.join(","),
            Form::One(s) => s,
        };
        parse_targets(&joined).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_names_say_what_is_accepted() {
        for q in BaseQuant::ALL {
            assert_eq!(parse_quant(q.name()), Ok(q));
        }
        assert_eq!(parse_quant("INT8_ROW"), Ok(BaseQuant::Int8PerRow));
        assert_eq!(
            parse_quant("ternary-group-32"),
            Ok(BaseQuant::TernaryPerGroup(32))
        );
        assert!(parse_quant("ternary-group-0").is_err());
        assert!(parse_quant("int4").unwrap_err().contains("ternary-row"));
        assert_eq!(
            parse_targets("v, q_proj,attn_k,q").unwrap(),
            [LoraTarget::Q, LoraTarget::K, LoraTarget::V]
        );
        assert_eq!(parse_targets("all").unwrap(), LoraTarget::ALL);
        assert!(parse_targets("qq").is_err() && parse_targets(" , ").is_err());
        assert_eq!(parse_tensor_type("Q8_0"), Ok(GgmlType::Q8_0));
        assert!(parse_tensor_type("q4_k").is_err());
    }
}
