//! Hostile input: seeded mutations of small valid GGUF and safetensors files (every truncation, random byte
//! flips, huge numbers in every header field) must give `Ok` or `Err`, never a panic or a huge allocation.

use std::panic::{AssertUnwindSafe, catch_unwind};

use tern_kernels::io::gguf::{GgmlType, Gguf, GgufWriter, MetaArray, MetaValue};
use tern_kernels::io::safetensors::{Dtype, Safetensors, SafetensorsWriter};
use tern_kernels::rng::Key;

/// A small GGUF with every tensor type and metadata of several kinds.
pub fn sample_gguf() -> Vec<u8> {
    let key = Key(11);
    let values = |n: usize, s: u32| -> Vec<f32> {
        (0..n as u32)
            .map(|i| (key.word(i, s, 0) as i32 >> 20) as f32 / 256.0)
            .collect()
    };
    let mut w = GgufWriter::new();
    w.metadata("general.architecture", MetaValue::Str("llama".into()))
        .unwrap();
    w.metadata("llama.block_count", MetaValue::U32(2)).unwrap();
    w.metadata("llama.rope.freq_base", MetaValue::F32(10_000.0))
        .unwrap();
    w.metadata(
        "tokenizer.ggml.tokens",
        MetaValue::Array(MetaArray::Str(vec!["a".into(), "bc".into()])),
    )
    .unwrap();
    w.metadata(
        "tokenizer.ggml.token_type",
        MetaValue::Array(MetaArray::I32(vec![1, 3])),
    )
    .unwrap();
    w.metadata(
        "nested",
        MetaValue::Array(MetaArray::Array(vec![
            MetaArray::U8(vec![1]),
            MetaArray::Bool(vec![true]),
        ])),
    )
    .unwrap();
    for (i, ty) in GgmlType::ALL.into_iter().enumerate() {
        let width = ty.block_len().max(4) as u64;
        let v = values(width as usize * 2, i as u32);
        let v: Vec<f32> = if matches!(ty, GgmlType::I8) {
            v.iter().map(|x| x.clamp(-100.0, 100.0)).collect()
        } else {
            v
        };
        w.tensor_f32(format!("t.{ty}"), &[width, 2], ty, &v)
            .unwrap();
    }
    w.to_bytes()
}

/// Parses `bytes` and touches everything a loader would; returns whether parsing succeeded.
fn exercise_gguf(bytes: Vec<u8>) -> bool {
    let Ok(gguf) = Gguf::from_bytes(bytes) else {
        return false;
    };
    for (key, _) in gguf.meta().iter() {
        let _ = (
            gguf.get_u32(key),
            gguf.get_str(key),
            gguf.get_f32(key),
            gguf.get_str_array(key),
        );
    }
    for info in gguf.tensors() {
        let values = gguf
            .dequantize(&info.name)
            .expect("a tensor listed by the file dequantizes");
        assert_eq!(values.len() as u64, info.n_elements());
        let _ = (
            gguf.q8_0_blocks(&info.name),
            gguf.ternary_blocks(&info.name),
        );
    }
    true
}

/// Runs `f` on each case, reporting the first that panics.
fn no_panics<T>(
    label: &str,
    cases: impl Iterator<Item = (String, T)>,
    f: impl Fn(T) -> bool,
) -> (usize, usize) {
    let (mut ok, mut err) = (0, 0);
    for (name, case) in cases {
        match catch_unwind(AssertUnwindSafe(|| f(case))) {
            Ok(true) => ok += 1,
            Ok(false) => err += 1,
            Err(_) => panic!("{label}: case {name} panicked"),
        }
    }
    eprintln!("{label}: {ok} parsed, {err} rejected");
    (ok, err)
}

/// Huge or boundary values written over 8 bytes.
const HUGE: [u64; 7] = [
    u64::MAX,
    1 << 63,
    1 << 60,
    1 << 40,
    1 << 32,
    u32::MAX as u64,
    0,
];

#[test]
fn gguf_mutations_never_panic() {
    let file = sample_gguf();
    assert!(exercise_gguf(file.clone()));
    let parsed = Gguf::from_bytes(file.clone()).unwrap();
    let header_len = parsed.data_offset() as usize;
    let data_end = header_len
        + parsed
            .tensors()
            .iter()
            .map(|t| (t.offset + t.n_bytes()) as usize)
            .max()
            .unwrap();

    let truncations = (0..file.len()).map(|n| (format!("truncate {n}"), file[..n].to_vec()));
    let (ok, _) = no_panics("gguf truncations", truncations, exercise_gguf);
    // Only cutting the padding after the last tensor leaves a readable file.
    assert_eq!(ok, file.len() - data_end);

    let key = Key(0x6775_6666);
    let flips = (0..3000u32).map(|case| {
        let mut b = file.clone();
        // Mostly within the header, where the structure is.
        let region = if case % 4 == 0 { b.len() } else { header_len };
        for k in 0..1 + key.below(4, case, 0, 0) {
            let at = key.below(region as u32, case, 1, k) as usize;
            b[at] = key.word(case, 2, k) as u8;
        }
        (format!("flip {case}"), b)
    });
    let (ok, err) = no_panics("gguf byte flips", flips, exercise_gguf);
    assert!(ok > 0 && err > 0);

    let huge = (0..header_len.saturating_sub(4)).flat_map(|at| {
        let file = &file;
        HUGE.iter().flat_map(move |&v| {
            let mut wide = file.clone();
            let end = (at + 8).min(wide.len());
            wide[at..end].copy_from_slice(&v.to_le_bytes()[..end - at]);
            let mut narrow = file.clone();
            narrow[at..at + 4].copy_from_slice(&(v as u32).to_le_bytes());
            [
                (format!("u64 {v} at {at}"), wide),
                (format!("u32 {} at {at}", v as u32), narrow),
            ]
        })
    });
    no_panics("gguf huge fields", huge, exercise_gguf);
}

fn sample_safetensors() -> Vec<u8> {
    let mut w = SafetensorsWriter::new();
    w.add_f32("a", Dtype::F32, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        .unwrap();
    w.add_f32("b", Dtype::BF16, &[4], &[1.0, -2.0, 0.5, 8.0])
        .unwrap();
    w.add_f32("c", Dtype::F16, &[1, 2], &[0.25, -0.75]).unwrap();
    w.add_ternary(
        "w.weight",
        &[8, 3],
        &[
            1, 0, -1, 0, 1, 1, -1, -1, 0, 0, 0, 1, 1, 1, 1, 0, -1, 0, 1, 0, -1, 0, 0, 0,
        ],
        2.0,
        Dtype::BF16,
    )
    .unwrap();
    w.metadata("format", "pt");
    w.to_bytes().unwrap()
}

fn exercise_safetensors(bytes: Vec<u8>) -> bool {
    let Ok(st) = Safetensors::from_bytes(bytes) else {
        return false;
    };
    for name in st.names() {
        let _ = (st.to_f32(name), st.ternary(name), st.bytes(name));
    }
    true
}

#[test]
fn safetensors_mutations_never_panic() {
    let file = sample_safetensors();
    assert!(exercise_safetensors(file.clone()));
    let header_len = 8 + u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;

    let truncations = (0..file.len()).map(|n| (format!("truncate {n}"), file[..n].to_vec()));
    let (ok, _) = no_panics("safetensors truncations", truncations, exercise_safetensors);
    assert_eq!(ok, 0);

    let key = Key(0x7361_6665);
    let flips = (0..3000u32).map(|case| {
        let mut b = file.clone();
        for k in 0..1 + key.below(3, case, 0, 0) {
            let at = key.below(b.len() as u32, case, 1, k) as usize;
            // Half the flips write a digit, so numbers in the JSON header change without breaking its syntax.
            b[at] = if case % 2 == 0 {
                b'0' + key.below(10, case, 2, k) as u8
            } else {
                key.word(case, 2, k) as u8
            };
        }
        (format!("flip {case}"), b)
    });
    no_panics("safetensors byte flips", flips, exercise_safetensors);

    // Every number in the header replaced by a huge one (the header length is fixed up to stay consistent).
    let header = String::from_utf8(file[8..header_len].to_vec()).unwrap();
    let numbers: Vec<(usize, usize)> = {
        let bytes = header.as_bytes();
        let mut spans = vec![];
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i].is_ascii_digit() {
                let start = i;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                spans.push((start, i));
            }
            i += 1;
        }
        spans
    };
    let huge = numbers.iter().flat_map(|&(s, e)| {
        let (header, file) = (&header, &file);
        [
            "18446744073709551615",
            "99999999999999999999999",
            "4294967296",
            "0",
            "1",
        ]
        .into_iter()
        .map(move |n| {
            let new_header = format!("{}{}{}", &header[..s], n, &header[e..]);
            let mut b = (new_header.len() as u64).to_le_bytes().to_vec();
            b.extend(new_header.as_bytes());
            b.extend(&file[header_len..]);
            (format!("{n} at {s}"), b)
        })
    });
    no_panics("safetensors huge numbers", huge, exercise_safetensors);
    let mut claims_huge_header = file.clone();
    claims_huge_header[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert!(!exercise_safetensors(claims_huge_header));
}
