//! GGUF reading against the real SmolLM2 file and llama.cpp's vocabulary files.

use std::path::PathBuf;

use tern_kernels::io::gguf::{GgmlType, Gguf, GgufError, MetaValue};

/// The data cache: `TERN_CACHE_DIR`, else `<workspace>/.tern/cache`.
fn cache_dir() -> PathBuf {
    std::env::var_os("TERN_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.tern/cache")))
}

fn cached(rel: &str) -> Option<PathBuf> {
    let path = cache_dir().join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipped: {} is absent; run deploy/fetch-data.sh",
            path.display()
        );
        None
    }
}

#[test]
fn smollm2_metadata() {
    let Some(path) = cached("models/SmolLM2-135M-Instruct.Q4_1.gguf") else {
        return;
    };
    let gguf = Gguf::read(&path).unwrap();
    assert_eq!(gguf.version(), 3);
    assert_eq!(gguf.get_str("general.architecture").unwrap(), "llama");
    assert_eq!(gguf.get_u32("llama.block_count").unwrap(), 30);
    assert_eq!(gguf.get_u32("llama.embedding_length").unwrap(), 576);
    assert_eq!(gguf.get_u32("llama.attention.head_count").unwrap(), 9);
    assert_eq!(gguf.get_u32("llama.attention.head_count_kv").unwrap(), 3);
    assert_eq!(gguf.get_str("tokenizer.ggml.pre").unwrap(), "smollm");
    assert_eq!(
        gguf.get_str_array("tokenizer.ggml.tokens").unwrap().len(),
        49152
    );
    assert_eq!(
        gguf.get_i32_array("tokenizer.ggml.token_type")
            .unwrap()
            .len(),
        49152
    );
    let eps = gguf
        .get_f32("llama.attention.layer_norm_rms_epsilon")
        .unwrap();
    assert!(eps > 0.0 && eps < 1e-3, "{eps}");
    assert!(gguf.get_u32_opt("no.such.key").unwrap().is_none());
    match gguf.get_u32("general.architecture") {
        Err(GgufError::WrongType {
            key,
            expected,
            found,
        }) => {
            assert_eq!(
                (key.as_str(), expected, found.as_str()),
                ("general.architecture", "u32", "string")
            );
        }
        other => panic!("expected a type error, got {other:?}"),
    }
    assert!(matches!(
        gguf.get_str("no.such.key"),
        Err(GgufError::MissingKey(_))
    ));
    // File order is kept: the architecture is the first key llama.cpp writes.
    assert_eq!(
        gguf.meta().iter().next().map(|(k, _)| k),
        Some("general.architecture")
    );
    assert!(matches!(
        gguf.metadata("llama.block_count"),
        Some(MetaValue::U32(30))
    ));
}

#[test]
fn smollm2_tensor_table() {
    let Some(path) = cached("models/SmolLM2-135M-Instruct.Q4_1.gguf") else {
        return;
    };
    let gguf = Gguf::read(&path).unwrap();
    let n = gguf.tensors().len();
    eprintln!("SmolLM2: {n} tensors");
    assert!((270..=275).contains(&n), "{n}");
    let embd = gguf.tensor("token_embd.weight").unwrap();
    assert_eq!(embd.ty, GgmlType::Q8_0);
    assert_eq!(embd.shape, vec![576, 49152]);
    assert_eq!(
        gguf.tensor("blk.0.attn_q.weight").unwrap().ty,
        GgmlType::Q4_1
    );
    assert_eq!(
        gguf.tensor("blk.0.attn_k.weight").unwrap().shape,
        vec![576, 192]
    );
    assert_eq!(
        gguf.tensor("blk.0.ffn_up.weight").unwrap().ty,
        GgmlType::Q4_1
    );
    assert_eq!(
        gguf.tensor("blk.0.attn_norm.weight").unwrap().ty,
        GgmlType::F32
    );
    assert_eq!(gguf.tensor("output_norm.weight").unwrap().ty, GgmlType::F32);
    assert!(matches!(gguf.tensor("nope"), Err(GgufError::NoTensor(_))));
}

#[test]
fn llama_cpp_vocab_files_parse() {
    let Some(dir) = cached("vocab") else { return };
    let mut parsed = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "gguf") {
            let gguf = Gguf::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                !gguf
                    .get_str_array("tokenizer.ggml.tokens")
                    .unwrap()
                    .is_empty(),
                "{}",
                path.display()
            );
            parsed += 1;
        }
    }
    assert!(parsed > 5, "{parsed} vocab files");
}

#[test]
fn smollm2_dequantizes() {
    let Some(path) = cached("models/SmolLM2-135M-Instruct.Q4_1.gguf") else {
        return;
    };
    let gguf = Gguf::read(&path).unwrap();
    let start = std::time::Instant::now();
    let mut total = 0usize;
    for info in gguf.tensors() {
        let values = gguf.dequantize(&info.name).unwrap();
        assert_eq!(values.len() as u64, info.n_elements(), "{}", info.name);
        assert!(values.iter().all(|v| v.is_finite()), "{}", info.name);
        total += values.len();
    }
    eprintln!(
        "dequantized {total} values of {} tensors in {:?}",
        gguf.tensors().len(),
        start.elapsed()
    );
    // The parameter count of SmolLM2-135M (tied embeddings: no output.weight).
    assert!((134_000_000..136_000_000).contains(&total), "{total}");

    let mean_abs = |name: &str| {
        let v = gguf.dequantize(name).unwrap();
        v.iter().map(|x| f64::from(x.abs())).sum::<f64>() / v.len() as f64
    };
    let wq = mean_abs("blk.0.attn_q.weight");
    let embd = mean_abs("token_embd.weight");
    let norm = gguf.dequantize("blk.0.attn_norm.weight").unwrap();
    let norm_mean = norm.iter().map(|&x| f64::from(x)).sum::<f64>() / norm.len() as f64;
    let out_norm = gguf.dequantize("output_norm.weight").unwrap();
    let out_mean = out_norm.iter().map(|&x| f64::from(x)).sum::<f64>() / out_norm.len() as f64;
    eprintln!("mean |blk.0.attn_q| = {wq:.5}, mean |token_embd| = {embd:.5}");
    eprintln!("mean blk.0.attn_norm = {norm_mean:.4}, mean output_norm = {out_mean:.4}");
    // Trained projection weights of a 576-wide model: small but far from zero.
    assert!((0.005..0.5).contains(&wq), "{wq}");
    assert!((0.005..0.5).contains(&embd), "{embd}");
    // SmolLM2's norm gains are not near 1 (layer 0's attention norm averages ~0.001, the final norm ~1.8), so the
    // check that the F32 tensors are read at the right offsets is sharper: the model was trained in bfloat16, so
    // every F32 norm value has zero low 16 bits, which misaligned bytes would not.
    assert!((1.0..3.0).contains(&out_mean), "{out_mean}");
    assert_eq!(norm.len(), 576);
    for info in gguf.tensors().iter().filter(|t| t.ty == GgmlType::F32) {
        let v = gguf.dequantize(&info.name).unwrap();
        assert!(
            v.iter().all(|x| x.to_bits() & 0xffff == 0),
            "{} is not bfloat16-exact",
            info.name
        );
    }
}
