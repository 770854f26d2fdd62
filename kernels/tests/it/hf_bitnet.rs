//! A BitNet b1.58 checkpoint in Hugging Face's format (packed ternary safetensors and `config.json`) loads to the
//! same integer model, bit for bit, as the equivalent GGUF and as the same checkpoint with float weights.

use tern_kernels::{
    cpu::Cpu,
    export::unpermute_rows,
    io::{
        gguf::{GgmlType, Gguf, GgufWriter, MetaValue},
        safetensors::{BitnetLinearClass, Dtype, Safetensors, SafetensorsWriter},
    },
    model::{Architecture, BaseModel, BaseQuant, LoraTarget, ModelConfig, ModelError, synthetic},
    rng::Key,
    train::Trainer,
};

use crate::tiny::{pattern_batch, train_config};

/// The tiny BitNet's tensors by GGUF name (Q/K rows in GGUF's order): ternary projections with their stored
/// `weight_scale`, and float tensors (shape outermost first).
struct Checkpoint {
    config: ModelConfig,
    ternary: Vec<(String, usize, usize, Vec<i8>, f32)>,
    floats: Vec<(String, Vec<usize>, Vec<f32>)>,
}

fn uniform(key: Key, id: u32, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n)
        .map(|i| lo + (hi - lo) * (key.word(id, i as u32, 0) as f32 / u32::MAX as f32))
        .collect()
}

fn checkpoint(class: BitnetLinearClass) -> Checkpoint {
    let config = synthetic::tiny_config(Architecture::Bitnet);
    let key = Key(77);
    let (d, f) = (config.d_model, config.d_ff);
    let mut floats = vec![
        (
            "token_embd.weight".to_string(),
            vec![config.vocab_size, d],
            uniform(key, 0, config.vocab_size * d, -1.0, 1.0),
        ),
        (
            "output_norm.weight".into(),
            vec![d],
            uniform(key, 1, d, 0.8, 1.2),
        ),
    ];
    let mut ternary = Vec::new();
    for l in 0..config.n_layers {
        for (i, (stem, width)) in [
            ("attn_norm", d),
            ("ffn_norm", d),
            ("attn_sub_norm", d),
            ("ffn_sub_norm", f),
        ]
        .into_iter()
        .enumerate()
        {
            let id = 10 + 10 * l as u32 + i as u32;
            floats.push((
                format!("blk.{l}.{stem}.weight"),
                vec![width],
                uniform(key, id, width, 0.8, 1.2),
            ));
        }
        for (i, t) in LoraTarget::ALL.into_iter().enumerate() {
            let (rows, cols) = t.shape(&config);
            let id = 100 + 10 * l as u32 + i as u32;
            let values: Vec<i8> = (0..rows * cols)
                .map(|j| key.below(3, id, j as u32, 1) as i8 - 1)
                .collect();
            // The real scale is about 1/√cols; BitLinear stores its inverse, as a bf16 like real checkpoints.
            let real = (1.0 + 0.1 * i as f32) / (cols as f32).sqrt();
            let stored = match class {
                BitnetLinearClass::BitLinear => 1.0 / real,
                BitnetLinearClass::AutoBitLinear => real,
            };
            let stored = tern_kernels::io::gguf::quant::bf16_to_f32(
                tern_kernels::io::gguf::quant::f32_to_bf16(stored),
            );
            ternary.push((
                format!("blk.{l}.{}.weight", t.gguf_name()),
                rows,
                cols,
                values,
                stored,
            ));
        }
    }
    Checkpoint {
        config,
        ternary,
        floats,
    }
}

fn hf_name(gguf: &str) -> String {
    let fixed = [
        ("token_embd.weight", "model.embed_tokens.weight"),
        ("output_norm.weight", "model.norm.weight"),
    ];
    if let Some((_, hf)) = fixed.iter().find(|(g, _)| *g == gguf) {
        return hf.to_string();
    }
    let (layer, stem) = gguf.strip_prefix("blk.").unwrap().split_once('.').unwrap();
    let hf = match stem.strip_suffix(".weight").unwrap() {
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
        other => panic!("{other}"),
    };
    format!("model.layers.{layer}.{hf}.weight")
}

/// Q and K rows back to Hugging Face's order.
fn hf_rows<T: Copy + Default>(c: &ModelConfig, gguf: &str, values: &[T], cols: usize) -> Vec<T> {
    let heads = if gguf.ends_with("attn_q.weight") {
        c.n_heads
    } else if gguf.ends_with("attn_k.weight") {
        c.n_kv_heads
    } else {
        return values.to_vec();
    };
    unpermute_rows(values, cols, heads).unwrap()
}

fn config_json(c: &ModelConfig, linear_class: &str, act: &str) -> String {
    format!(
        r#"{{"architectures": ["BitNetForCausalLM"], "model_type": "bitnet", "hidden_size": {}, "intermediate_size": {},
        "num_attention_heads": {}, "num_key_value_heads": {}, "num_hidden_layers": {}, "vocab_size": {},
        "max_position_embeddings": {}, "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "hidden_act": "{act}",
        "tie_word_embeddings": true, "rope_scaling": null, "torch_dtype": "bfloat16",
        "quantization_config": {{"quant_method": "bitnet", "linear_class": "{linear_class}", "quantization_mode": "offline"}}}}"#,
        c.d_model, c.d_ff, c.n_heads, c.n_kv_heads, c.n_layers, c.vocab_size, c.context_length
    )
}

/// The checkpoint as Hugging Face safetensors: packed ternary projections, or their float values.
fn safetensors(ck: &Checkpoint, class: BitnetLinearClass, packed: bool) -> Safetensors {
    let mut w = SafetensorsWriter::new();
    for (name, shape, values) in &ck.floats {
        w.add_f32(hf_name(name), Dtype::F32, shape, values).unwrap();
    }
    for (name, rows, cols, values, stored) in &ck.ternary {
        let values = hf_rows(&ck.config, name, values, *cols);
        if packed {
            w.add_ternary(
                hf_name(name),
                &[*rows, *cols],
                &values,
                *stored,
                Dtype::BF16,
            )
            .unwrap();
        } else {
            let real = class.real_scale(*stored);
            let floats: Vec<f32> = values.iter().map(|&q| f32::from(q) * real).collect();
            w.add_f32(hf_name(name), Dtype::F32, &[*rows, *cols], &floats)
                .unwrap();
        }
    }
    Safetensors::from_bytes(w.to_bytes().unwrap()).unwrap()
}

/// The checkpoint as a GGUF with F32 tensors (the effective ternary weights as floats, as llama.cpp writes BitNet).
fn gguf(ck: &Checkpoint, class: BitnetLinearClass) -> Gguf {
    let c = &ck.config;
    let mut w = GgufWriter::new();
    w.metadata("general.architecture", MetaValue::Str("bitnet".into()))
        .unwrap();
    for (k, v) in [
        ("block_count", c.n_layers),
        ("embedding_length", c.d_model),
        ("feed_forward_length", c.d_ff),
        ("attention.head_count", c.n_heads),
        ("attention.head_count_kv", c.n_kv_heads),
        ("context_length", c.context_length),
        ("vocab_size", c.vocab_size),
    ] {
        w.metadata(format!("bitnet.{k}"), MetaValue::U32(v as u32))
            .unwrap();
    }
    w.metadata("bitnet.rope.freq_base", MetaValue::F32(c.rope_theta))
        .unwrap();
    w.metadata(
        "bitnet.attention.layer_norm_rms_epsilon",
        MetaValue::F32(c.rms_eps),
    )
    .unwrap();
    for (name, shape, values) in &ck.floats {
        let ggml: Vec<u64> = shape.iter().rev().map(|&d| d as u64).collect();
        w.tensor_f32(name.as_str(), &ggml, GgmlType::F32, values)
            .unwrap();
    }
    for (name, rows, cols, values, stored) in &ck.ternary {
        let real = class.real_scale(*stored);
        let floats: Vec<f32> = values.iter().map(|&q| f32::from(q) * real).collect();
        w.tensor_f32(
            name.as_str(),
            &[*cols as u64, *rows as u64],
            GgmlType::F32,
            &floats,
        )
        .unwrap();
    }
    Gguf::from_bytes(w.to_bytes()).unwrap()
}

/// Weights, then the loss and state hash after one training step.
fn fingerprint(base: &BaseModel) -> (Vec<Vec<f64>>, f64, [u8; 32]) {
    let mut weights = vec![base.embedding.to_f64()];
    for block in &base.blocks {
        weights.extend(LoraTarget::ALL.map(|t| block.proj(t).to_f64()));
    }
    let trainer = Trainer::new(base, Cpu::new(), train_config(4, 8.0, 10), Key(99));
    let mut state = trainer.initial_state(Key(1));
    trainer.step(&mut state, &pattern_batch(0, 16)).unwrap();
    let report = trainer.step(&mut state, &pattern_batch(1, 16)).unwrap();
    (weights, report.loss, state.hash())
}

#[test]
fn packed_bitnet_safetensors_equal_the_gguf_and_the_float_checkpoint() {
    for (class, name) in [
        (BitnetLinearClass::AutoBitLinear, "autobitlinear"),
        (BitnetLinearClass::BitLinear, "bitlinear"),
    ] {
        let ck = checkpoint(class);
        let json = config_json(&ck.config, name, "relu2");
        let packed = BaseModel::from_safetensors(
            &safetensors(&ck, class, true),
            &json,
            BaseQuant::TernaryPerTensor,
            64,
        )
        .unwrap();
        let float = BaseModel::from_safetensors(
            &safetensors(&ck, class, false),
            &json,
            BaseQuant::TernaryPerTensor,
            64,
        )
        .unwrap();
        let from_gguf =
            BaseModel::from_gguf(&gguf(&ck, class), BaseQuant::TernaryPerTensor, 64).unwrap();
        assert_eq!(packed.config, from_gguf.config);
        let want = fingerprint(&from_gguf);
        // The ternary values and scales arrive exactly: the weights are the stored values times the real scale.
        for (name, rows, cols, values, stored) in &ck.ternary {
            let _ = (rows, name);
            let real = f64::from(class.real_scale(*stored));
            let l: usize = name[4..].split('.').next().unwrap().parse().unwrap();
            let t = LoraTarget::ALL
                .iter()
                .position(|t| name.contains(t.gguf_name()))
                .unwrap();
            let got = packed.blocks[l].proj[t].to_f64();
            assert_eq!(got.len(), values.len());
            assert!(
                got.iter()
                    .zip(values)
                    .all(|(&g, &q)| g == f64::from(q) * real),
                "{name} ({cols} wide)"
            );
        }
        let got = fingerprint(&packed);
        println!(
            "tiny BitNet from Hugging Face ({name}): step-1 loss {:.4}",
            got.1
        );
        assert!(
            got == want,
            "{name}: packed safetensors differ from the GGUF"
        );
        assert!(
            fingerprint(&float) == want,
            "{name}: float safetensors differ from the GGUF"
        );
    }
}

#[test]
fn bad_hugging_face_configs_are_clear_errors() {
    let class = BitnetLinearClass::AutoBitLinear;
    let ck = checkpoint(class);
    let st = safetensors(&ck, class, true);
    let load = |json: &str| {
        BaseModel::from_safetensors(&st, json, BaseQuant::TernaryPerTensor, 64).unwrap_err()
    };
    let err = load(&config_json(&ck.config, "fancylinear", "relu2"));
    assert!(
        matches!(err, ModelError::Config(_)) && err.to_string().contains("fancylinear"),
        "{err}"
    );
    let err = load(&config_json(&ck.config, "autobitlinear", "silu"));
    assert!(
        matches!(err, ModelError::Config(_)) && err.to_string().contains("relu2"),
        "{err}"
    );
    let err =
        load(&config_json(&ck.config, "autobitlinear", "relu2").replace("\"bitnet\"", "\"gpt2\""));
    assert!(matches!(err, ModelError::Architecture(_)), "{err}");
    let err = load("{\"model_type\": \"bitnet\"}");
    assert!(matches!(err, ModelError::Config(_)), "{err}");
    // A checkpoint without one of its tensors names it.
    let mut short = ck;
    short
        .floats
        .retain(|(n, _, _)| n != "blk.1.ffn_sub_norm.weight");
    let st = safetensors(&short, class, true);
    let err = BaseModel::from_safetensors(
        &st,
        &config_json(&short.config, "autobitlinear", "relu2"),
        BaseQuant::TernaryPerTensor,
        64,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("model.layers.1.mlp.ffn_sub_norm.weight"),
        "{err}"
    );
}
