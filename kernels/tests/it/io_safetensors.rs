//! Safetensors: float tensors, BitNet packed ternary weights (layout and scale convention), and errors.

use tern_kernels::io::safetensors::{
    BitnetLinearClass, Dtype, Safetensors, SafetensorsError, SafetensorsWriter, pack_ternary,
    unpack_ternary,
};
use tern_kernels::rng::Key;

fn random_ternary(seed: u32, n: usize) -> Vec<i8> {
    let key = Key(seed);
    (0..n as u32)
        .map(|i| key.below(3, i, 0, 0) as i8 - 1)
        .collect()
}

#[test]
fn float_tensors_round_trip() {
    let key = Key(3);
    let values: Vec<f32> = (0..96)
        .map(|i| (key.word(i, 0, 0) as i32) as f32 / 1e9)
        .collect();
    let mut w = SafetensorsWriter::new();
    w.add_f32("a.f32", Dtype::F32, &[8, 12], &values).unwrap();
    w.add_f32("a.f16", Dtype::F16, &[96], &values).unwrap();
    w.add_f32("a.bf16", Dtype::BF16, &[2, 3, 16], &values)
        .unwrap();
    w.metadata("format", "pt");
    let st = Safetensors::from_bytes(w.to_bytes().unwrap()).unwrap();
    assert_eq!(st.names(), ["a.bf16", "a.f16", "a.f32"]);
    assert_eq!(st.metadata().get("format").map(String::as_str), Some("pt"));
    assert_eq!(st.to_f32("a.f32").unwrap(), values);
    assert_eq!(st.tensor("a.bf16").unwrap().shape, [2, 3, 16]);
    let f16 = st.to_f32("a.f16").unwrap();
    let bf16 = st.to_f32("a.bf16").unwrap();
    for ((&x, &h), &b) in values.iter().zip(&f16).zip(&bf16) {
        assert!((x - h).abs() <= x.abs() / 2048.0 + 1e-7, "{x} {h}");
        assert!((x - b).abs() <= x.abs() / 256.0, "{x} {b}");
        assert_eq!(b.to_bits() & 0xffff, 0);
    }
}

#[test]
fn packing_matches_transformers_documented_example() {
    // The example in transformers' `unpack_weights` docstring: two packed rows of two bytes unpack to 8 rows.
    let packed = [0b1010_0001u8, 0b0001_1000, 0b1001_0000, 0b0000_1010];
    let (shape, values) = unpack_ternary(&packed, &[2, 2]).unwrap();
    assert_eq!(shape, [8, 2]);
    let expected: [i8; 16] = [0, -1, -1, 1, -1, 1, -1, 1, 1, 0, 0, -1, 1, -1, 1, -1];
    assert_eq!(values, expected);
    assert_eq!(
        pack_ternary(&expected, &[8, 2]).unwrap(),
        (vec![2, 2], packed.to_vec())
    );
}

#[test]
fn ternary_weights_round_trip_with_their_scale() {
    for seed in 0..8 {
        let (out, inp) = (4 * (1 + seed as usize), 3 + seed as usize);
        let values = random_ternary(seed, out * inp);
        let mut w = SafetensorsWriter::new();
        w.add_ternary(
            "model.layers.0.mlp.up_proj.weight",
            &[out, inp],
            &values,
            2.5,
            Dtype::BF16,
        )
        .unwrap();
        w.add_ternary("v.weight", &[8], &values[..8], 0.5, Dtype::F32)
            .unwrap();
        let st = Safetensors::from_bytes(w.to_bytes().unwrap()).unwrap();
        let packed = st.tensor("model.layers.0.mlp.up_proj.weight").unwrap();
        assert_eq!(
            (packed.dtype, packed.shape.as_slice()),
            (Dtype::U8, &[out / 4, inp][..])
        );
        let t = st.ternary("model.layers.0.mlp.up_proj.weight").unwrap();
        assert_eq!(
            (t.shape.as_slice(), t.values.as_slice(), t.weight_scale),
            (&[out, inp][..], &values[..], 2.5)
        );
        let divided = t.dequantize(BitnetLinearClass::BitLinear);
        let multiplied = t.dequantize(BitnetLinearClass::AutoBitLinear);
        for ((&v, &d), &m) in values.iter().zip(&divided).zip(&multiplied) {
            assert_eq!((d, m), (f32::from(v) * 0.4, f32::from(v) * 2.5));
        }
        let v = st.ternary("v.weight").unwrap();
        assert_eq!(
            (v.shape.as_slice(), &v.values[..], v.weight_scale),
            (&[8][..], &values[..8], 0.5)
        );
    }
    assert_eq!(
        BitnetLinearClass::from_config_name(None),
        Some(BitnetLinearClass::BitLinear)
    );
    assert_eq!(
        BitnetLinearClass::from_config_name(Some("autobitlinear")),
        Some(BitnetLinearClass::AutoBitLinear)
    );
    assert_eq!(BitnetLinearClass::from_config_name(Some("other")), None);
}

#[test]
fn mismatches_and_missing_scales_are_errors() {
    let mut w = SafetensorsWriter::new();
    w.add_raw(
        "packed.weight",
        Dtype::U8,
        &[1, 2],
        vec![0b0101_0101, 0b1101_0101],
    )
    .unwrap();
    w.add_raw("noscale.weight", Dtype::U8, &[1, 1], vec![0x55])
        .unwrap();
    w.add_f32("packed.weight_scale", Dtype::F32, &[1], &[1.0])
        .unwrap();
    w.add_f32("float.weight", Dtype::F32, &[2], &[1.0, 2.0])
        .unwrap();
    w.add_raw("two.weight", Dtype::U8, &[1, 1], vec![0x55])
        .unwrap();
    w.add_f32("two.weight_scale", Dtype::F32, &[2], &[1.0, 2.0])
        .unwrap();
    w.add_raw("zero.weight", Dtype::U8, &[1, 1], vec![0x55])
        .unwrap();
    w.add_f32("zero.weight_scale", Dtype::F32, &[1], &[0.0])
        .unwrap();
    w.add_raw("ints", Dtype::I32, &[1], vec![0; 4]).unwrap();
    let st = Safetensors::from_bytes(w.to_bytes().unwrap()).unwrap();
    let e = st.ternary("packed.weight").unwrap_err();
    assert!(
        matches!(e, SafetensorsError::NotTernary { byte_index: 1, .. }),
        "{e}"
    );
    assert!(matches!(
        st.ternary("noscale.weight"),
        Err(SafetensorsError::MissingScale { .. })
    ));
    assert!(matches!(
        st.ternary("float.weight"),
        Err(SafetensorsError::Dtype { .. })
    ));
    assert!(
        st.ternary("two.weight")
            .unwrap_err()
            .to_string()
            .contains("has 2")
    );
    assert!(
        st.ternary("zero.weight")
            .unwrap_err()
            .to_string()
            .contains("not a finite non-zero")
    );
    assert!(matches!(
        st.to_f32("ints"),
        Err(SafetensorsError::Dtype {
            found: Dtype::I32,
            ..
        })
    ));
    assert!(matches!(
        st.to_f32("nope"),
        Err(SafetensorsError::NoTensor(_))
    ));

    let mut w = SafetensorsWriter::new();
    assert!(w.add_f32("a", Dtype::F32, &[3], &[1.0]).is_err());
    assert!(w.add_f32("a", Dtype::I8, &[1], &[1.0]).is_err());
    assert!(
        w.add_ternary("t", &[6, 1], &[0; 6], 1.0, Dtype::F32)
            .unwrap_err()
            .to_string()
            .contains("multiple of 4")
    );
    assert!(
        w.add_ternary("t", &[4], &[0, 2, 0, 0], 1.0, Dtype::F32)
            .unwrap_err()
            .to_string()
            .contains("not ternary")
    );
    w.add_f32("a", Dtype::F32, &[1], &[1.0]).unwrap();
    assert!(matches!(
        w.add_f32("a", Dtype::F32, &[1], &[1.0]),
        Err(SafetensorsError::Duplicate(_))
    ));
    assert!(Safetensors::from_bytes(b"\x02\0\0\0\0\0\0\0{}".to_vec()).is_ok());
    assert!(matches!(
        Safetensors::from_bytes(vec![0xff; 16]),
        Err(SafetensorsError::Format(_))
    ));
}

#[test]
fn write_to_path_reads_back() {
    let dir = std::env::temp_dir().join(format!("tern-io-st-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("a.safetensors");
    let mut w = SafetensorsWriter::new();
    w.add_ternary("w.weight", &[4, 2], &random_ternary(1, 8), 1.0, Dtype::F16)
        .unwrap();
    w.write(&path).unwrap();
    assert_eq!(
        Safetensors::read(&path)
            .unwrap()
            .ternary("w.weight")
            .unwrap()
            .values,
        random_ternary(1, 8)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
