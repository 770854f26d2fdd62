//! Exporting a trained adapter: PEFT safetensors (names, shapes, values, Q/K rows back in Hugging Face order,
//! deterministic bytes), `adapter_config.json`, the llama.cpp GGUF LoRA, merged weights, and bad states.

use tern_kernels::{
    cpu::Cpu,
    export::{
        ExportError, adapter_hash, export_gguf_lora, export_peft, export_peft_as, merged_weight,
        peft_module_name, permute_rows, unpermute_rows,
    },
    io::{
        gguf::{GgmlType, Gguf},
        safetensors::{Dtype, Safetensors},
    },
    model::{Architecture, BaseQuant, LoraTarget, ModelConfig},
    rng::Key,
    train::{MASTER_FRAC, TrainState, Trainer},
};

const SEQ: usize = 8;
const RANK: usize = 4;
const ALPHA: f64 = 8.0;
const BASE_ID: &str = "HuggingFaceTB/SmolLM2-135M-Instruct";

/// A tiny llama trained for `steps` steps on every projection, so `B ≠ 0`.
fn trained(steps: u32) -> (ModelConfig, TrainState) {
    let base = crate::tiny::base(Architecture::Llama, BaseQuant::TernaryPerTensor);
    let config = crate::tiny::train_config(RANK, ALPHA, 10);
    let trainer = Trainer::new(&base, Cpu::new(), config, Key(99));
    let mut state = trainer.initial_state(Key(1));
    for s in 0..steps {
        trainer
            .step(&mut state, &crate::tiny::pattern_batch(s, SEQ))
            .expect("step");
    }
    (base.config.clone(), state)
}

/// `v / 2^29` to the nearest f32, computed independently of the exporter (f64 holds `v / 2^29` exactly).
fn real(v: i32) -> f32 {
    (f64::from(v) / (1u64 << MASTER_FRAC) as f64) as f32
}

/// Hugging Face row `h·d + j·d/2 + i` is GGUF row `h·d + 2i + j` (llama.cpp's `permute`), written out directly.
fn hf_rows_by_hand(gguf_rows: &[f32], cols: usize, heads: usize) -> Vec<f32> {
    let rows = gguf_rows.len() / cols;
    let d = rows / heads;
    let mut hf = vec![f32::NAN; gguf_rows.len()];
    for h in 0..heads {
        for i in 0..d / 2 {
            for j in 0..2 {
                let (src, dst) = (h * d + 2 * i + j, h * d + j * d / 2 + i);
                hf[dst * cols..(dst + 1) * cols]
                    .copy_from_slice(&gguf_rows[src * cols..(src + 1) * cols]);
            }
        }
    }
    hf
}

fn heads(target: LoraTarget, config: &ModelConfig) -> Option<usize> {
    match target {
        LoraTarget::Q => Some(config.n_heads),
        LoraTarget::K => Some(config.n_kv_heads),
        _ => None,
    }
}

#[test]
fn peft_tensors_have_peft_names_shapes_and_values_with_qk_rows_unpermuted() {
    let (config, state) = trained(3);
    let adapter = export_peft(&state, &config, ALPHA, BASE_ID).unwrap();
    let file = Safetensors::from_bytes(adapter.safetensors.clone()).unwrap();
    assert_eq!(file.names().len(), 2 * state.adapters.len());
    assert_eq!(
        file.metadata().get("format").map(String::as_str),
        Some("pt")
    );
    assert_eq!(
        peft_module_name(1, LoraTarget::Gate),
        "base_model.model.model.layers.1.mlp.gate_proj"
    );
    let mut permuted_differs = 0;
    for ad in &state.adapters {
        let attn = matches!(
            ad.target,
            LoraTarget::Q | LoraTarget::K | LoraTarget::V | LoraTarget::O
        );
        let stem = format!(
            "base_model.model.model.layers.{}.{}.{}",
            ad.layer,
            if attn { "self_attn" } else { "mlp" },
            ad.target.hf_name()
        );
        let a_name = format!("{stem}.lora_A.weight");
        let b_name = format!("{stem}.lora_B.weight");
        let a_entry = file.tensor(&a_name).unwrap();
        assert_eq!(a_entry.dtype, Dtype::F32);
        assert_eq!(a_entry.shape, [RANK, ad.in_features]);
        let b_entry = file.tensor(&b_name).unwrap();
        assert_eq!(b_entry.dtype, Dtype::F32);
        assert_eq!(b_entry.shape, [ad.out_features, RANK]);

        let a = file.to_f32(&a_name).unwrap();
        let want_a: Vec<f32> = ad.a.iter().map(|&v| real(v)).collect();
        assert_eq!(a, want_a, "{a_name}");
        for (&v, &x) in ad.a.iter().zip(&a) {
            // f32 keeps 24 significant bits: the error is at most half an ulp of the value
            let exact = f64::from(v) / (1u64 << MASTER_FRAC) as f64;
            assert!((f64::from(x) - exact).abs() <= exact.abs() * 2f64.powi(-24));
        }

        let b = file.to_f32(&b_name).unwrap();
        let gguf_order: Vec<f32> = ad.b.iter().map(|&v| real(v)).collect();
        match heads(ad.target, &config) {
            Some(h) => {
                assert_eq!(b, hf_rows_by_hand(&gguf_order, RANK, h), "{b_name}");
                permuted_differs += usize::from(b != gguf_order);
            }
            None => assert_eq!(b, gguf_order, "{b_name}"),
        }
    }
    assert!(
        state.adapters.iter().all(|ad| ad.b.iter().any(|&v| v != 0)),
        "three steps move every B off zero"
    );
    assert_eq!(permuted_differs, 4, "q and k of both layers are reordered");
}

#[test]
fn peft_and_gguf_orders_describe_the_same_update() {
    // W_gguf + s·B_gguf·A must equal permute(W_hf + s·B_hf·A) row for row, with W_hf = unpermute(W_gguf).
    let (config, state) = trained(3);
    let adapter = export_peft(&state, &config, ALPHA, BASE_ID).unwrap();
    let file = Safetensors::from_bytes(adapter.safetensors).unwrap();
    for ad in state.adapters.iter().filter(|a| a.layer == 1) {
        let w_gguf: Vec<f32> = (0..ad.out_features * ad.in_features)
            .map(|i| Key(5).below(2001, i as u32, 0, 0) as f32 / 1000.0 - 1.0)
            .collect();
        let merged_gguf = merged_weight(&w_gguf, ad, ALPHA).unwrap();
        let stem = peft_module_name(ad.layer, ad.target);
        let a = file.to_f32(&format!("{stem}.lora_A.weight")).unwrap();
        let b_hf = file.to_f32(&format!("{stem}.lora_B.weight")).unwrap();
        let h = heads(ad.target, &config);
        let w_hf = match h {
            Some(h) => unpermute_rows(&w_gguf, ad.in_features, h).unwrap(),
            None => w_gguf.clone(),
        };
        let s = ALPHA / RANK as f64;
        let merged_hf: Vec<f32> = (0..ad.out_features * ad.in_features)
            .map(|e| {
                let (o, i) = (e / ad.in_features, e % ad.in_features);
                let d: f64 = (0..RANK)
                    .map(|k| f64::from(b_hf[o * RANK + k]) * f64::from(a[k * ad.in_features + i]))
                    .sum();
                (f64::from(w_hf[e]) + s * d) as f32
            })
            .collect();
        let back = match h {
            Some(h) => permute_rows(&merged_hf, ad.in_features, h).unwrap(),
            None => merged_hf,
        };
        assert_eq!(back, merged_gguf, "{:?}", ad.target);
        assert_ne!(
            merged_gguf, w_gguf,
            "{:?}: the update is not zero",
            ad.target
        );
    }
}

#[test]
fn adapter_config_json_describes_the_adapter() {
    let (config, state) = trained(1);
    let adapter = export_peft(&state, &config, ALPHA, BASE_ID).unwrap();
    let json: serde_json::Value = serde_json::from_str(&adapter.adapter_config_json).unwrap();
    assert_eq!(json["peft_type"], "LORA");
    assert_eq!(json["task_type"], "CAUSAL_LM");
    assert_eq!(json["r"], 4);
    assert_eq!(json["lora_alpha"], 8.0);
    assert_eq!(json["lora_dropout"], 0.0);
    assert_eq!(json["bias"], "none");
    assert_eq!(json["fan_in_fan_out"], false);
    assert_eq!(json["inference_mode"], true);
    assert_eq!(json["base_model_name_or_path"], BASE_ID);
    assert!(json["layers_to_transform"].is_null(), "every layer adapted");
    let targets: Vec<&str> = json["target_modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj"
        ]
    );

    // Only layer 1, only q and v: the config names those.
    let mut partial = state.clone();
    partial
        .adapters
        .retain(|a| a.layer == 1 && matches!(a.target, LoraTarget::Q | LoraTarget::V));
    let adapter = export_peft(&partial, &config, 16.0, "local/path").unwrap();
    let json: serde_json::Value = serde_json::from_str(&adapter.adapter_config_json).unwrap();
    assert_eq!(
        json["target_modules"],
        serde_json::json!(["q_proj", "v_proj"])
    );
    assert_eq!(json["layers_to_transform"], serde_json::json!([1]));
    assert_eq!(json["lora_alpha"], 16.0);
}

#[test]
fn export_bytes_and_hash_are_a_function_of_the_state() {
    let (config, state) = trained(3);
    let first = export_peft(&state, &config, ALPHA, BASE_ID).unwrap();
    let again = export_peft(&state, &config, ALPHA, BASE_ID).unwrap();
    assert_eq!(first, again);
    let decoded = TrainState::decode(&state.encode()).unwrap();
    let from_decoded = export_peft(&decoded, &config, ALPHA, BASE_ID).unwrap();
    assert_eq!(from_decoded.safetensors, first.safetensors);
    assert_eq!(adapter_hash(&from_decoded), adapter_hash(&first));
    let gguf = export_gguf_lora(&state, &config, ALPHA, "llama").unwrap();
    assert_eq!(
        gguf,
        export_gguf_lora(&decoded, &config, ALPHA, "llama").unwrap()
    );

    let (_, later) = trained(4);
    assert_ne!(
        adapter_hash(&export_peft(&later, &config, ALPHA, BASE_ID).unwrap()),
        adapter_hash(&first)
    );
    // the hash is of the tensors alone: the config file does not enter it
    assert_eq!(
        adapter_hash(&export_peft(&state, &config, ALPHA, "elsewhere").unwrap()),
        adapter_hash(&first)
    );
}

#[test]
fn half_precision_exports_round_the_f32_values() {
    let (config, state) = trained(2);
    for dtype in [Dtype::F16, Dtype::BF16] {
        let adapter = export_peft_as(&state, &config, ALPHA, BASE_ID, dtype).unwrap();
        let file = Safetensors::from_bytes(adapter.safetensors).unwrap();
        let ad = &state.adapters[2];
        let name = format!("{}.lora_A.weight", peft_module_name(ad.layer, ad.target));
        assert_eq!(file.tensor(&name).unwrap().dtype, dtype);
        let tolerance = if dtype == Dtype::F16 {
            2f32.powi(-11)
        } else {
            2f32.powi(-8)
        };
        for (&v, x) in ad.a.iter().zip(file.to_f32(&name).unwrap()) {
            assert!(
                (x - real(v)).abs() <= real(v).abs() * tolerance + 1e-7,
                "{dtype:?}"
            );
        }
    }
}

#[test]
fn gguf_lora_reads_back_with_llama_cpp_names_shapes_and_gguf_row_order() {
    let (config, state) = trained(3);
    let bytes = export_gguf_lora(&state, &config, ALPHA, "llama").unwrap();
    let gguf = Gguf::from_bytes(bytes).unwrap();
    assert_eq!(gguf.get_str("general.architecture").unwrap(), "llama");
    assert_eq!(gguf.get_str("general.type").unwrap(), "adapter");
    assert_eq!(gguf.get_str("adapter.type").unwrap(), "lora");
    assert_eq!(gguf.get_f32("adapter.lora.alpha").unwrap(), 8.0);
    assert_eq!(gguf.tensors().len(), 2 * state.adapters.len());
    for ad in &state.adapters {
        let stem = format!("blk.{}.{}.weight", ad.layer, ad.target.gguf_name());
        let (r, input, out) = (RANK as u64, ad.in_features as u64, ad.out_features as u64);
        for (suffix, shape, values) in [("lora_a", [input, r], &ad.a), ("lora_b", [r, out], &ad.b)]
        {
            let name = format!("{stem}.{suffix}");
            let info = gguf.tensor(&name).unwrap();
            assert_eq!(info.shape, shape, "{name}");
            assert_eq!(info.ty, GgmlType::F32, "{name}");
            let stored: Vec<f32> = gguf
                .tensor_data(&name)
                .unwrap()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            let want: Vec<f32> = values.iter().map(|&v| real(v)).collect();
            assert_eq!(stored, want, "{name}: GGUF order, no permutation");
        }
    }
}

#[test]
fn merged_weight_adds_the_scaled_low_rank_product() {
    let (_, state) = trained(3);
    let ad = state
        .adapters
        .iter()
        .find(|a| a.target == LoraTarget::Down)
        .unwrap();
    let zero = vec![0.0f32; ad.out_features * ad.in_features];
    let delta = merged_weight(&zero, ad, ALPHA).unwrap();
    let s = ALPHA / RANK as f64;
    for o in [0, ad.out_features - 1] {
        for i in [0, 7, ad.in_features - 1] {
            let d: f64 = (0..RANK)
                .map(|k| {
                    f64::from(real(ad.b[o * RANK + k]))
                        * f64::from(real(ad.a[k * ad.in_features + i]))
                })
                .sum();
            assert_eq!(delta[o * ad.in_features + i], (s * d) as f32);
        }
    }
    assert!(matches!(
        merged_weight(&zero[1..], ad, ALPHA),
        Err(ExportError::BaseWeight { .. })
    ));
}

#[test]
fn states_that_cannot_be_exported_are_clear_errors() {
    let (config, state) = trained(1);
    let empty = TrainState {
        step: 3,
        adapters: Vec::new(),
    };
    let err = export_peft(&empty, &config, ALPHA, BASE_ID).unwrap_err();
    assert!(matches!(err, ExportError::NoAdapters));
    assert!(err.to_string().contains("no adapters"), "{err}");
    assert!(matches!(
        export_gguf_lora(&empty, &config, ALPHA, "llama"),
        Err(ExportError::NoAdapters)
    ));
    for alpha in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            export_peft(&state, &config, alpha, BASE_ID),
            Err(ExportError::Alpha(_))
        ));
    }
    let wider = ModelConfig {
        d_model: 64,
        ..config.clone()
    };
    assert!(matches!(
        export_peft(&state, &wider, ALPHA, BASE_ID),
        Err(ExportError::Shape { .. })
    ));
    let shallower = ModelConfig {
        n_layers: 1,
        ..config.clone()
    };
    assert!(matches!(
        export_gguf_lora(&state, &shallower, ALPHA, "llama"),
        Err(ExportError::Shape { .. })
    ));
    let mut uneven = state.clone();
    uneven.adapters.remove(3);
    assert!(matches!(
        export_peft(&uneven, &config, ALPHA, BASE_ID),
        Err(ExportError::UnevenTargets { .. })
    ));
    let mut mixed = state.clone();
    let last = mixed.adapters.last_mut().unwrap();
    last.rank = 2;
    last.a.truncate(2 * last.in_features);
    last.b.truncate(2 * last.out_features);
    assert!(matches!(
        export_peft(&mixed, &config, ALPHA, BASE_ID),
        Err(ExportError::MixedRanks { first: 4, other: 2 })
    ));
    let mut swapped = state.clone();
    swapped.adapters.swap(0, 1);
    assert!(matches!(
        export_peft(&swapped, &config, ALPHA, BASE_ID),
        Err(ExportError::Shape { .. })
    ));
}

#[test]
fn smollm2_shapes_export_with_nine_query_heads_and_three_kv_heads() {
    // SmolLM2-135M: 9 query heads and 3 KV heads of 64 rows. B is filled so each GGUF row holds its own index.
    let config = ModelConfig::smollm2_135m();
    let mut state = TrainState::init(&config, 8, &[LoraTarget::Q, LoraTarget::K], Key(3));
    for ad in &mut state.adapters {
        for (i, v) in ad.b.iter_mut().enumerate() {
            *v = ((i / 8) as i32) << 16;
        }
    }
    let adapter = export_peft(&state, &config, 16.0, BASE_ID).unwrap();
    let file = Safetensors::from_bytes(adapter.safetensors).unwrap();
    assert_eq!(file.names().len(), 2 * 2 * 30);
    for (target, rows) in [(LoraTarget::Q, 576), (LoraTarget::K, 192)] {
        let name = format!("{}.lora_B.weight", peft_module_name(29, target));
        assert_eq!(file.tensor(&name).unwrap().shape, [rows, 8]);
        let b = file.to_f32(&name).unwrap();
        let gguf_row_of = |hf_row: usize| (b[hf_row * 8] * 2f32.powi(13)) as usize;
        // Head 1, first half: HF rows 64..96 came from the even GGUF rows 64, 66, …; second half from the odd ones.
        assert_eq!(gguf_row_of(64), 64);
        assert_eq!(gguf_row_of(65), 66);
        assert_eq!(gguf_row_of(96), 65);
        assert_eq!(gguf_row_of(127), 127);
        let mut seen: Vec<usize> = (0..rows).map(gguf_row_of).collect();
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..rows).collect::<Vec<_>>(),
            "a permutation of the rows"
        );
    }
    let gguf = Gguf::from_bytes(export_gguf_lora(&state, &config, 16.0, "llama").unwrap()).unwrap();
    assert_eq!(
        gguf.tensor("blk.29.attn_q.weight.lora_a").unwrap().shape,
        [576, 8]
    );
    assert_eq!(
        gguf.tensor("blk.29.attn_k.weight.lora_b").unwrap().shape,
        [8, 192]
    );
}
