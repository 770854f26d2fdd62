//! GGUF writer → reader round trips on seeded random data, block layouts against hand-made blocks, and the errors
//! a malformed file gets.

use tern_kernels::io::gguf::quant::{self, f16_to_f32, f32_to_f16};
use tern_kernels::io::gguf::{GgmlType, Gguf, GgufError, GgufWriter, MetaArray, MetaValue};
use tern_kernels::rng::Key;

/// A seeded uniform value in `[-1, 1)`.
fn uniform(key: Key, i: u32) -> f32 {
    (key.word(i, 0, 0) >> 8) as f32 / (1u32 << 23) as f32 - 1.0
}

fn random_values(seed: u32, n: usize) -> Vec<f32> {
    let key = Key(seed);
    // Blocks of very different magnitudes, so per-block scales matter.
    (0..n as u32)
        .map(|i| uniform(key, i) * (1 + (i / 32) % 7) as f32 * 0.37)
        .collect()
}

fn round_trip(ty: GgmlType, shape: &[u64], values: &[f32]) -> Vec<f32> {
    let mut w = GgufWriter::new();
    w.metadata("general.architecture", MetaValue::Str("test".into()))
        .unwrap();
    w.tensor_f32("pad", &[3], GgmlType::F32, &[1.0, 2.0, 3.0])
        .unwrap();
    w.tensor_f32("t", shape, ty, values).unwrap();
    let gguf = Gguf::from_bytes(w.to_bytes()).unwrap();
    let info = gguf.tensor("t").unwrap();
    assert_eq!((info.ty, info.shape.as_slice()), (ty, shape));
    assert_eq!(gguf.dequantize("pad").unwrap(), vec![1.0, 2.0, 3.0]);
    gguf.dequantize("t").unwrap()
}

#[test]
fn exact_types_round_trip_bit_for_bit() {
    for seed in 0..4 {
        let values = random_values(seed, 512);
        let back = round_trip(GgmlType::F32, &[64, 8], &values);
        assert!(
            values
                .iter()
                .zip(&back)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );

        let halves: Vec<f32> = values.iter().map(|&v| f16_to_f32(f32_to_f16(v))).collect();
        let back = round_trip(GgmlType::F16, &[64, 8], &halves);
        assert!(
            halves
                .iter()
                .zip(&back)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );

        let bf: Vec<f32> = values
            .iter()
            .map(|&v| quant::bf16_to_f32(quant::f32_to_bf16(v)))
            .collect();
        assert!(
            values
                .iter()
                .zip(&bf)
                .all(|(a, b)| (a - b).abs() <= a.abs() / 128.0)
        );
        assert_eq!(round_trip(GgmlType::BF16, &[64, 8], &bf), bf);

        let key = Key(seed + 100);
        let ints = |bits: u32| -> Vec<f32> {
            (0..256)
                .map(|i| (key.word(i, bits, 0) as i32 >> (32 - bits)) as f32)
                .collect()
        };
        for (ty, bits) in [(GgmlType::I8, 8), (GgmlType::I16, 16), (GgmlType::I32, 24)] {
            let v = ints(bits);
            assert_eq!(round_trip(ty, &[16, 16], &v), v, "{ty}");
        }
    }
}

/// The largest error per block that each quantized format allows for `block`.
fn bound(ty: GgmlType, block: &[f32]) -> f32 {
    let amax = block.iter().fold(0.0f32, |a, v| a.max(v.abs()));
    let (min, max) = block
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    // The f16 scale's relative rounding (2^-11) times the largest multiplier, plus float slack.
    let slack = amax * 2e-3 + 1e-6;
    match ty {
        GgmlType::Q8_0 => amax / 127.0 / 2.0 + slack,
        GgmlType::Q4_0 => amax / 8.0 + slack,
        GgmlType::Q4_1 => (max - min) / 15.0 / 2.0 + slack,
        GgmlType::TQ1_0 | GgmlType::TQ2_0 => amax / 2.0 + slack,
        _ => 0.0,
    }
}

#[test]
fn quantized_types_round_trip_within_their_error() {
    for ty in [
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q8_0,
        GgmlType::TQ1_0,
        GgmlType::TQ2_0,
    ] {
        for seed in 0..8 {
            let values = random_values(seed * 31 + ty.id(), 1024);
            let back = round_trip(ty, &[512, 2], &values);
            assert_eq!(back.len(), values.len());
            for (i, (block, got)) in values
                .chunks(ty.block_len())
                .zip(back.chunks(ty.block_len()))
                .enumerate()
            {
                let b = bound(ty, block);
                for (x, y) in block.iter().zip(got) {
                    assert!(
                        (x - y).abs() <= b,
                        "{ty} seed {seed} block {i}: {x} -> {y}, bound {b}"
                    );
                }
            }
        }
    }
}

#[test]
fn ternary_input_round_trips_exactly() {
    for ty in [GgmlType::TQ1_0, GgmlType::TQ2_0] {
        for seed in 0..8 {
            let key = Key(seed + 7);
            // An f16-exact scale per block and ternary values: the format holds these exactly.
            let values: Vec<f32> = (0..1024u32)
                .map(|i| {
                    let scale = f16_to_f32(f32_to_f16(0.01 + (i / 256) as f32 * 0.3));
                    (key.below(3, i, 0, 0) as f32 - 1.0) * scale
                })
                .collect();
            assert_eq!(
                round_trip(ty, &[256, 4], &values),
                values,
                "{ty} seed {seed}"
            );
        }
    }
}

#[test]
fn quantized_blocks_requantize_to_the_same_bytes() {
    for ty in [
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q8_0,
        GgmlType::TQ1_0,
        GgmlType::TQ2_0,
        GgmlType::F16,
        GgmlType::BF16,
    ] {
        for seed in 0..16 {
            let values = random_values(seed * 17 + ty.id(), 2048);
            let bytes = quant::quantize(ty, &values).unwrap();
            let again = quant::quantize(ty, &quant::dequantize(ty, &bytes)).unwrap();
            assert!(bytes == again, "{ty} seed {seed}: requantized bytes differ");
        }
    }
}

fn f16(x: f32) -> [u8; 2] {
    f32_to_f16(x).to_le_bytes()
}

#[test]
fn block_layouts_match_ggml() {
    // Q4_0: element j is the low nibble of qs[j] minus 8, element j + 16 the high nibble minus 8.
    let mut q4_0 = vec![0u8; 18];
    q4_0[..2].copy_from_slice(&f16(0.5));
    q4_0[2] = 0x9f;
    let v = quant::dequantize(GgmlType::Q4_0, &q4_0);
    assert_eq!((v[0], v[16], v[1]), (3.5, 0.5, -4.0));

    // Q4_1: d, then m, then nibbles without offset.
    let mut q4_1 = vec![0u8; 20];
    q4_1[..2].copy_from_slice(&f16(0.5));
    q4_1[2..4].copy_from_slice(&f16(-1.0));
    q4_1[4] = 0x9f;
    let v = quant::dequantize(GgmlType::Q4_1, &q4_1);
    assert_eq!((v[0], v[16], v[1]), (6.5, 3.5, -1.0));

    // Q8_0: d, then 32 signed bytes.
    let mut q8 = vec![0u8; 34];
    q8[..2].copy_from_slice(&f16(0.25));
    q8[2] = 0x80;
    q8[33] = 5;
    let v = quant::dequantize(GgmlType::Q8_0, &q8);
    assert_eq!((v[0], v[31]), (-32.0, 1.25));

    // TQ2_0: qs[m] bits 2n..2n+2 hold x[32n + m] (first half), qs[32 + m] the same for x[128 + ...]; d last.
    let mut tq2 = vec![0x55u8; 66];
    tq2[0] = 0b10_01_00_10;
    tq2[32 + 3] = 0b00_10_01_01;
    tq2[64..].copy_from_slice(&f16(2.0));
    let v = quant::dequantize(GgmlType::TQ2_0, &tq2);
    assert_eq!(
        (v[0], v[32], v[64], v[96], v[1]),
        (2.0, -2.0, 0.0, 2.0, 0.0)
    );
    assert_eq!((v[131], v[163], v[195], v[227]), (0.0, 0.0, 2.0, -2.0));

    // TQ1_0: digits (2, 0, 1, 2, 1) = 178 in base 3, stored as ceil(178 * 256 / 243) = 188, first digit first.
    let mut tq1 = vec![0u8; 54];
    // 121 = 11111 in base 3 (all zeros) -> ceil(121 * 256 / 243) = 128.
    tq1[..48].fill(128);
    // qh holds four digits and a zero: (1, 1, 1, 1, 0) = 120 -> ceil(120 * 256 / 243) = 127.
    tq1[48..52].fill(127);
    tq1[0] = 188;
    tq1[32 + 1] = 188;
    // qh: four digits (2, 0, 1, 2) then a 0 digit: 2*81 + 1*9 + 2*3 = 177 -> ceil(177 * 256 / 243) = 187.
    tq1[48 + 2] = 187;
    tq1[52..].copy_from_slice(&f16(1.5));
    let v = quant::dequantize(GgmlType::TQ1_0, &tq1);
    assert_eq!(
        (v[0], v[32], v[64], v[96], v[128], v[1]),
        (1.5, -1.5, 0.0, 1.5, 0.0, 0.0)
    );
    assert_eq!(
        (v[161], v[177], v[193], v[209], v[225]),
        (1.5, -1.5, 0.0, 1.5, 0.0)
    );
    assert_eq!(
        (v[242], v[246], v[250], v[254], v[243]),
        (1.5, -1.5, 0.0, 1.5, 0.0)
    );
    // The encoder writes exactly these bytes back.
    assert_eq!(quant::quantize(GgmlType::TQ1_0, &v).unwrap(), tq1);
}

#[test]
fn q8_0_and_ternary_blocks_are_exposed_raw() {
    let values = random_values(5, 512);
    let mut w = GgufWriter::new();
    w.tensor_f32("q8", &[256, 2], GgmlType::Q8_0, &values)
        .unwrap();
    w.tensor_f32("tq", &[256, 2], GgmlType::TQ1_0, &values)
        .unwrap();
    let gguf = Gguf::from_bytes(w.to_bytes()).unwrap();
    let blocks = gguf.q8_0_blocks("q8").unwrap();
    let floats = gguf.dequantize("q8").unwrap();
    assert_eq!(blocks.len(), 16);
    for (b, f) in blocks.iter().zip(floats.chunks(32)) {
        assert!(
            b.qs.iter()
                .zip(f)
                .all(|(&q, &x)| f32::from(q) * b.scale() == x)
        );
    }
    let tern = gguf.ternary_blocks("tq").unwrap();
    let floats = gguf.dequantize("tq").unwrap();
    assert_eq!(tern.len(), 2);
    for (b, f) in tern.iter().zip(floats.chunks(256)) {
        assert!(
            b.q.iter()
                .zip(f)
                .all(|(&q, &x)| f32::from(q) * b.scale() == x)
        );
    }
    assert!(matches!(
        gguf.q8_0_blocks("tq"),
        Err(GgufError::WrongTensorType { .. })
    ));
    assert!(matches!(
        gguf.ternary_blocks("q8"),
        Err(GgufError::WrongTensorType { .. })
    ));
}

#[test]
fn metadata_of_every_type_round_trips_in_order() {
    let entries = vec![
        ("u8", MetaValue::U8(200)),
        ("i8", MetaValue::I8(-5)),
        ("u16", MetaValue::U16(60_000)),
        ("i16", MetaValue::I16(-30_000)),
        ("u32", MetaValue::U32(4_000_000_000)),
        ("i32", MetaValue::I32(-2_000_000_000)),
        ("f32", MetaValue::F32(1.5e-5)),
        ("bool", MetaValue::Bool(true)),
        ("str", MetaValue::Str("héllo".into())),
        ("u64", MetaValue::U64(u64::MAX)),
        ("i64", MetaValue::I64(i64::MIN)),
        ("f64", MetaValue::F64(-0.125)),
        (
            "strs",
            MetaValue::Array(MetaArray::Str(vec![
                "a".into(),
                String::new(),
                "ccc".into(),
            ])),
        ),
        ("i32s", MetaValue::Array(MetaArray::I32(vec![1, -2, 3]))),
        ("f32s", MetaValue::Array(MetaArray::F32(vec![0.5, -1.0]))),
        ("empty", MetaValue::Array(MetaArray::U64(vec![]))),
        (
            "bools",
            MetaValue::Array(MetaArray::Bool(vec![true, false])),
        ),
        (
            "nested",
            MetaValue::Array(MetaArray::Array(vec![
                MetaArray::U8(vec![1, 2]),
                MetaArray::Str(vec!["x".into()]),
                MetaArray::Array(vec![MetaArray::F64(vec![2.0])]),
            ])),
        ),
    ];
    let mut w = GgufWriter::new();
    for (k, v) in &entries {
        w.metadata(*k, v.clone()).unwrap();
    }
    let gguf = Gguf::from_bytes(w.to_bytes()).unwrap();
    let back: Vec<(&str, &MetaValue)> = gguf.meta().iter().collect();
    assert_eq!(back.len(), entries.len());
    for ((k, v), (bk, bv)) in entries.iter().zip(back) {
        assert_eq!((*k, v), (bk, bv));
    }
    assert_eq!(gguf.get_u32("u16").unwrap(), 60_000);
    assert_eq!(gguf.get_i32("i8").unwrap(), -5);
    assert!(matches!(
        gguf.get_u32("i8"),
        Err(GgufError::WrongType { .. })
    ));
    assert!(matches!(
        gguf.get_u32("u64"),
        Err(GgufError::WrongType { .. })
    ));
    assert_eq!(gguf.get_f32("f64").unwrap(), -0.125);
    assert!(gguf.get_bool("bool").unwrap());
    assert_eq!(gguf.get_str_array("strs").unwrap(), ["a", "", "ccc"]);
    assert_eq!(gguf.get_i32_array("i32s").unwrap(), [1, -2, 3]);
    assert_eq!(gguf.get_f32_array("f32s").unwrap(), [0.5, -1.0]);
    let err = gguf.get_str_array("i32s").unwrap_err().to_string();
    assert!(
        err.contains("\"i32s\"") && err.contains("array of string") && err.contains("array of i32"),
        "{err}"
    );
}

#[test]
fn writer_rejects_inconsistent_tensors() {
    let mut w = GgufWriter::new();
    let err = w
        .tensor("a", &[32, 2], GgmlType::Q8_0, vec![0; 67])
        .unwrap_err();
    assert!(err.to_string().contains("67 bytes given"), "{err}");
    let err = w
        .tensor("a", &[30], GgmlType::Q8_0, vec![0; 34])
        .unwrap_err();
    assert!(err.to_string().contains("not a multiple"), "{err}");
    assert!(w.tensor("a", &[], GgmlType::F32, vec![]).is_err());
    assert!(
        w.tensor("a", &[1, 1, 1, 1, 1], GgmlType::F32, vec![0; 4])
            .is_err()
    );
    assert!(w.tensor("a", &[u64::MAX, 2], GgmlType::I8, vec![]).is_err());
    assert!(w.tensor_f32("a", &[4], GgmlType::F32, &[1.0; 3]).is_err());
    w.tensor("a", &[1], GgmlType::F32, vec![0; 4]).unwrap();
    assert!(matches!(
        w.tensor("a", &[1], GgmlType::F32, vec![0; 4]),
        Err(GgufError::DuplicateTensor(_))
    ));
    w.metadata("k", MetaValue::U8(1)).unwrap();
    assert!(matches!(
        w.metadata("k", MetaValue::U8(2)),
        Err(GgufError::DuplicateKey(_))
    ));
    assert!(matches!(
        w.metadata("general.alignment", MetaValue::U32(24)),
        Err(GgufError::BadAlignment(24))
    ));
}

#[test]
fn custom_alignment_is_honoured() {
    let mut w = GgufWriter::new();
    w.metadata("general.alignment", MetaValue::U32(256))
        .unwrap();
    w.tensor_f32("a", &[3], GgmlType::F32, &[1.0, 2.0, 3.0])
        .unwrap();
    w.tensor_f32("b", &[2], GgmlType::F32, &[4.0, 5.0]).unwrap();
    let gguf = Gguf::from_bytes(w.to_bytes()).unwrap();
    assert_eq!(gguf.alignment(), 256);
    assert_eq!(gguf.data_offset() % 256, 0);
    assert_eq!(gguf.tensor("b").unwrap().offset, 256);
    assert_eq!(gguf.dequantize("b").unwrap(), [4.0, 5.0]);
}

#[test]
fn write_to_path_is_atomic_and_reads_back() {
    let dir = std::env::temp_dir().join(format!("tern-io-gguf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.gguf");
    let mut w = GgufWriter::new();
    w.tensor_f32("a", &[2], GgmlType::F16, &[1.0, -2.0])
        .unwrap();
    w.write(&path).unwrap();
    w.write(&path).unwrap();
    assert_eq!(
        Gguf::read(&path).unwrap().dequantize("a").unwrap(),
        [1.0, -2.0]
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["m.gguf"]);
    let mut sink = Vec::new();
    w.write_to(&mut sink).unwrap();
    assert_eq!(sink, std::fs::read(&path).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(
        Gguf::read(dir.join("missing.gguf")),
        Err(GgufError::Io { .. })
    ));
}

/// A GGUF file assembled by hand, for headers the writer refuses to produce.
struct Raw(Vec<u8>);

impl Raw {
    fn new(version: u32, n_tensors: u64, n_kv: u64) -> Self {
        let mut b = b"GGUF".to_vec();
        b.extend(version.to_le_bytes());
        b.extend(n_tensors.to_le_bytes());
        b.extend(n_kv.to_le_bytes());
        Self(b)
    }
    fn str(mut self, s: &[u8]) -> Self {
        self.0.extend((s.len() as u64).to_le_bytes());
        self.0.extend(s);
        self
    }
    fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    fn u32(mut self, v: u32) -> Self {
        self.0.extend(v.to_le_bytes());
        self
    }
    fn u64(mut self, v: u64) -> Self {
        self.0.extend(v.to_le_bytes());
        self
    }
    fn tensor(self, name: &str, shape: &[u64], ty: u32, offset: u64) -> Self {
        let mut r = self.str(name.as_bytes()).u32(shape.len() as u32);
        for &d in shape {
            r = r.u64(d);
        }
        r.u32(ty).u64(offset)
    }
    /// Pads to 32 and appends `n` data bytes.
    fn data(mut self, n: usize) -> Vec<u8> {
        self.0.resize(self.0.len().next_multiple_of(32) + n, 0);
        self.0
    }
}

fn err(bytes: Vec<u8>) -> String {
    Gguf::from_bytes(bytes).unwrap_err().to_string()
}

#[test]
fn malformed_headers_get_clear_errors() {
    assert!(err(b"GGML\x03\0\0\0".to_vec()).contains("not a GGUF file"));
    assert!(err(b"GG".to_vec()).contains("truncated"));
    assert!(err(Raw::new(1, 0, 0).data(0)).contains("unsupported GGUF version 1"));
    assert!(err(Raw::new(3 << 24, 0, 0).data(0)).contains("big-endian"));
    assert!(err(Raw::new(3, 1 << 60, 0).data(0)).contains("tensor count"));
    assert!(err(Raw::new(3, 0, 1 << 60).data(0)).contains("metadata count"));
    // A key claiming to be a terabyte long.
    assert!(err(Raw::new(3, 0, 1).u64(1 << 40).data(64)).contains("length of metadata key #0"));
    assert!(err(Raw::new(3, 0, 1).str(b"k").u32(8).u64(1 << 40).data(64)).contains("truncated"));
    assert!(err(Raw::new(3, 0, 1).str(b"k\xff").u32(0).data(1)).contains("not valid UTF-8"));
    assert!(err(Raw::new(3, 0, 1).str(b"k").u32(13).data(1)).contains("unknown value type 13"));
    let bad_bool = Raw::new(3, 0, 1).str(b"k").u32(7).u8(2).data(0);
    assert!(err(bad_bool).contains("boolean byte 2"));
    let huge_array = Raw::new(3, 0, 1)
        .str(b"k")
        .u32(9)
        .u32(8)
        .u64(1 << 62)
        .data(64);
    assert!(err(huge_array).contains("array length of \"k\""));
    let mut deep = Raw::new(3, 0, 1).str(b"k").u32(9);
    for _ in 0..20 {
        deep = deep.u32(9).u64(1);
    }
    assert!(err(deep.data(64)).contains("nesting depth"));
    let dup = Raw::new(3, 0, 2)
        .str(b"k")
        .u32(4)
        .u32(1)
        .str(b"k")
        .u32(4)
        .u32(2)
        .data(0);
    assert!(err(dup).contains("appears twice"));
    let align = Raw::new(3, 0, 1)
        .str(b"general.alignment")
        .u32(4)
        .u32(48)
        .data(0);
    assert!(err(align).contains("alignment 48"));
}

#[test]
fn malformed_tensor_tables_get_clear_errors() {
    let ok = Raw::new(3, 1, 0).tensor("a", &[32], 0, 0).data(128);
    Gguf::from_bytes(ok).unwrap();
    let e = err(Raw::new(3, 1, 0).tensor("w", &[256], 12, 0).data(256));
    assert!(
        e.contains("unsupported tensor type 12 (Q4_K) in tensor \"w\""),
        "{e}"
    );
    assert!(
        err(Raw::new(3, 1, 0).tensor("w", &[256], 99, 0).data(256)).contains("type 99 (unknown)")
    );
    assert!(
        err(Raw::new(3, 1, 0).tensor("w", &[33], 8, 0).data(256))
            .contains("not a multiple of the Q8_0 block")
    );
    assert!(
        err(Raw::new(3, 1, 0)
            .tensor("w", &[1 << 32, 1 << 32], 0, 0)
            .data(64))
        .contains("2^63")
    );
    assert!(
        err(Raw::new(3, 1, 0)
            .tensor("w", &[1, 1, 1, 1, 1], 0, 0)
            .data(64))
        .contains("5 dimensions")
    );
    assert!(
        err(Raw::new(3, 1, 0).tensor("w", &[1 << 40], 0, 0).data(64))
            .contains("ends past the data section")
    );
    assert!(
        err(Raw::new(3, 1, 0).tensor("w", &[8], 0, 16).data(64))
            .contains("multiple of the alignment")
    );
    assert!(
        err(Raw::new(3, 1, 0)
            .tensor("w", &[8], 0, u64::MAX - 31)
            .data(64))
        .contains("ends past")
    );
    let two = |b_offset: u64, b_name: &str| {
        Raw::new(3, 2, 0)
            .tensor("a", &[16], 0, 0)
            .tensor(b_name, &[16], 0, b_offset)
            .data(128)
    };
    Gguf::from_bytes(two(64, "b")).unwrap();
    assert!(err(two(32, "b")).contains("overlap"));
    assert!(err(two(64, "a")).contains("\"a\" appears twice"));
    // A version 2 file is read the same way.
    Gguf::from_bytes(Raw::new(2, 1, 0).tensor("a", &[32], 0, 0).data(128)).unwrap();
}

/// SHA-256 of the encoded bytes and of their decoded `f32`s, as llama.cpp's Python package `gguf` 0.19
/// (`gguf.quants.quantize` / `dequantize`) computes them for the same 4096 seeded values: the codecs here are
/// byte-for-byte and bit-for-bit those of ggml.
const GGUF_PY_HASHES: [(GgmlType, &str, &str); 7] = [
    (
        GgmlType::F16,
        "d5f6b3f945a97dbe79a3cf9cd3bb05ce76d47b48bebca7ff2b2dc3c6e3c4bbae",
        "9079b7236f5206535352182509ecb50d3e0f6b2c3f09d78638bf86ac1bcda5bd",
    ),
    (
        GgmlType::BF16,
        "96d4dce27fabce29e6b1c4d934e58600f511f6096652545af3535f6933429e34",
        "8d965599335a80139883febd478bcb8414631fd627c3dd5de081a76dfcaea467",
    ),
    (
        GgmlType::Q4_0,
        "8fa72bec6a685c3b61b28fb3e6d08908490b5d4910a9650e2a3b3a3213797799",
        "54b4a79ca580441636503c192ce2ad01655826de1ef24f515f501357702a3b83",
    ),
    (
        GgmlType::Q4_1,
        "ab2701145fee64d0c87113fe168d41b3caf955929febdd3fd48e902c2a5ee7d4",
        "e898cef091db4f891faf03393f33feab18a63386f2b970e97f451d5bc3694b1d",
    ),
    (
        GgmlType::Q8_0,
        "ba6fb1b54ffa35ad6db69e323dfc558c065b33ef268387dcf5d6693001e72b00",
        "2e962029de16cb34108e5cda23f771f967c0e3c5f829d14d9ea7df87c6195367",
    ),
    (
        GgmlType::TQ1_0,
        "993c232708e9b2d5265b72fa8ada510c738a2dade68ece1467ef42cd4c2dfdf2",
        "a1e92a9e8102ae45f6d0b49fc4a4bc36c50fd2d613074fdf7ddf1aaad95d2f3c",
    ),
    (
        GgmlType::TQ2_0,
        "e66f0683fba8855023c7ec58f475b39054b12442e58211d349f451b8c1cc4a2f",
        "a1e92a9e8102ae45f6d0b49fc4a4bc36c50fd2d613074fdf7ddf1aaad95d2f3c",
    ),
];

#[test]
fn codecs_match_ggml_reference_hashes() {
    use sha2::{Digest, Sha256};
    let hex = |bytes: &[u8]| {
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let key = Key(1234);
    let values: Vec<f32> = (0..4096u32)
        .map(|j| (key.word(j, 0, 0) as i32) as f32 / 2f32.powi(31) * (1 + j / 256) as f32)
        .collect();
    for (ty, encoded, decoded) in GGUF_PY_HASHES {
        let bytes = quant::quantize(ty, &values).unwrap();
        assert_eq!(hex(&bytes), encoded, "{ty} encoding");
        let floats: Vec<u8> = quant::dequantize(ty, &bytes)
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(hex(&floats), decoded, "{ty} decoding");
    }
}
