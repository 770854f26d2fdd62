//! Every SIMD level × thread count gives the same bits as a naive reference, on odd, extreme and real shapes.

use tern_kernels::cpu::{Cpu, CpuError, MAX_K_I8, MAX_K_TERNARY, SimdLevel};
use tern_kernels::rng::Key;
use tern_kernels::tensor::{Int8Matrix, TernaryMatrix};

const THREADS: [usize; 4] = [1, 2, 3, 8];

/// Every context under test: each SIMD level this CPU has, with each thread count.
fn contexts() -> Vec<Cpu> {
    let mut all = Vec::new();
    for level in SimdLevel::available() {
        for threads in THREADS {
            all.push(
                Cpu::new()
                    .with_simd(level)
                    .unwrap()
                    .with_threads(threads)
                    .unwrap(),
            );
        }
    }
    all
}

fn random_i8(key: Key, stream: u32, len: usize) -> Vec<i8> {
    (0..len as u32)
        .map(|i| (key.below(255, stream, i, 0) as i32 - 127) as i8)
        .collect()
}

fn random_ternary(key: Key, stream: u32, len: usize) -> Vec<i8> {
    (0..len as u32)
        .map(|i| key.below(3, stream, i, 1) as i8 - 1)
        .collect()
}

/// `out[i][j] = Σ_t x[i][t]·w[j][t]` by the definition (k ≤ 1536 here, so i32 cannot overflow; the wrapping
/// fold only lets the compiler vectorize this loop).
fn reference(x: &[i8], w: &[i8], k: usize) -> Vec<i32> {
    assert!(k <= 1536);
    let mut out = Vec::new();
    for xrow in x.chunks_exact(k) {
        for wrow in w.chunks_exact(k) {
            out.push(xrow.iter().zip(wrow).fold(0i32, |s, (&a, &b)| {
                s.wrapping_add(i32::from(a) * i32::from(b))
            }));
        }
    }
    out
}

/// Checks both ops on one `m × k` by `n × k` problem in every context.
fn check_all(x: &[i8], ternary: &[i8], int8: &[i8], m: usize, n: usize, k: usize) {
    let wt = TernaryMatrix::from_values(n, k, ternary).unwrap();
    let wi = Int8Matrix::from_values(n, k, int8).unwrap();
    let expected_t = reference(x, ternary, k);
    let expected_i = reference(x, int8, k);
    for cpu in contexts() {
        let label = format!(
            "m={m} n={n} k={k} {} × {} threads",
            cpu.simd(),
            cpu.threads()
        );
        let mut out = vec![0x5555_5555; m * n];
        cpu.matmul_i8_ternary(x, &wt, &mut out).unwrap();
        assert!(out == expected_t, "ternary {label}");
        out.fill(0x5555_5555);
        cpu.matmul_i8_i8(x, &wi, &mut out).unwrap();
        assert!(out == expected_i, "int8 {label}");
    }
}

fn check_random(seed: u32, m: usize, n: usize, k: usize) {
    let key = Key(seed);
    check_all(
        &random_i8(key, 0, m * k),
        &random_ternary(key, 1, n * k),
        &random_i8(key, 2, n * k),
        m,
        n,
        k,
    );
}

#[test]
fn odd_shapes_match_reference() {
    for k in [1, 3, 31, 32, 33, 63, 64, 65, 255, 257, 576, 1536] {
        for n in [1, 7, 64, 192, 576] {
            for m in [1, 5, 64] {
                check_random((k * 1_000_000 + n * 100 + m) as u32, m, n, k);
            }
        }
    }
}

#[test]
fn extreme_values_match_reference() {
    for (m, n, k) in [(5, 7, 33), (64, 192, 576), (3, 17, 1536)] {
        for (xv, tv, iv) in [
            (127, -1, 127),
            (-127, -1, -127),
            (127, 1, -127),
            (-127, 1, 127),
            (0, 0, 0),
        ] {
            check_all(
                &vec![xv; m * k],
                &vec![tv; n * k],
                &vec![iv; n * k],
                m,
                n,
                k,
            );
        }
        // Alternating signs along k and rows.
        let x: Vec<i8> = (0..m * k)
            .map(|i| if i % 2 == 0 { 127 } else { -127 })
            .collect();
        let t: Vec<i8> = (0..n * k)
            .map(|i| if i % 3 == 0 { 1 } else { -1 })
            .collect();
        let w: Vec<i8> = (0..n * k)
            .map(|i| if i % 3 == 0 { -127 } else { 127 })
            .collect();
        check_all(&x, &t, &w, m, n, k);
    }
}

#[test]
fn longest_reduction_is_exact_at_the_extremes() {
    // 127·127·MAX_K_I8 is just below 2^31; intermediate sums (e.g. Σ (x+128)·w) may wrap but the result may not.
    let (m, n, k) = (2, 3, MAX_K_I8);
    for (xv, wv) in [(127, 127), (127, -127), (-127, 127)] {
        let x = vec![xv; m * k];
        let w = Int8Matrix::from_values(n, k, &vec![wv; n * k]).unwrap();
        let t = TernaryMatrix::from_values(n, k, &vec![wv.signum(); n * k]).unwrap();
        for cpu in contexts() {
            let mut out = vec![0; m * n];
            cpu.matmul_i8_i8(&x, &w, &mut out).unwrap();
            assert_eq!(
                out,
                vec![i32::from(xv) * i32::from(wv) * k as i32; m * n],
                "{}",
                cpu.simd()
            );
            cpu.matmul_i8_ternary(&x, &t, &mut out).unwrap();
            assert_eq!(
                out,
                vec![i32::from(xv) * i32::from(wv.signum()) * k as i32; m * n],
                "{}",
                cpu.simd()
            );
        }
    }
}

#[test]
fn model_shapes_match_reference() {
    // SmolLM2-135M: q/o, k/v, gate/up, down with 1024 tokens.
    for (seed, n, k) in [(1, 576, 576), (2, 192, 576), (3, 1536, 576), (4, 576, 1536)] {
        check_random(seed, 1024, n, k);
    }
}

#[test]
fn lm_head_matches_reference() {
    check_random(5, 3, 49_152, 576);
}

#[test]
fn column_split_over_several_row_blocks_matches_reference() {
    // Large weights and fewer than 64 rows per thread: threads split the columns, and 100 rows make two
    // activation blocks per thread.
    check_random(6, 100, 8192, 576);
}

#[test]
fn activation_products_match_reference() {
    let key = Key(11);
    for (m, n, k) in [(1, 1, 1), (9, 33, 64), (64, 64, 65), (5, 300, 257)] {
        let x = random_i8(key, 0, m * k);
        let y = random_i8(key, 1, n * k);
        let expected = reference(&x, &y, k);
        for cpu in contexts() {
            let mut out = vec![0; m * n];
            cpu.matmul_i8_i8_nt(&x, &y, k, &mut out).unwrap();
            assert_eq!(
                out,
                expected,
                "m={m} n={n} k={k} {} × {}",
                cpu.simd(),
                cpu.threads()
            );
        }
    }
}

#[test]
fn row_sums_are_sums() {
    let x = random_i8(Key(12), 0, 7 * 33);
    let mut out = vec![0; 7];
    Cpu::new().row_sums_i8(&x, 33, &mut out).unwrap();
    for (row, sum) in x.chunks_exact(33).zip(out) {
        assert_eq!(sum, row.iter().map(|&v| i32::from(v)).sum::<i32>());
    }
}

#[test]
fn too_long_reductions_are_errors() {
    let cpu = Cpu::new();
    let k = MAX_K_I8 + 1;
    let w = Int8Matrix::from_values(1, k, &vec![1; k]).unwrap();
    let mut out = [0];
    assert_eq!(
        cpu.matmul_i8_i8(&vec![1; k], &w, &mut out),
        Err(CpuError::ReductionTooLong { k, max: MAX_K_I8 })
    );
    assert_eq!(
        cpu.matmul_i8_i8_nt(&vec![1; k], &vec![1; k], k, &mut out),
        Err(CpuError::ReductionTooLong { k, max: MAX_K_I8 })
    );
    assert_eq!(127 * 127 * MAX_K_I8 as u64, 2_147_479_576);
    assert!(127 * 127 * (MAX_K_I8 as u64 + 1) >= 1 << 31);
    assert!(127 * (MAX_K_TERNARY as u64) < 1 << 31 && 127 * (MAX_K_TERNARY as u64 + 1) >= 1 << 31);
}

#[test]
fn bad_shapes_and_values_are_errors() {
    let cpu = Cpu::new();
    let w = TernaryMatrix::from_values(2, 3, &[1, 0, -1, 0, 1, 1]).unwrap();
    let mut out = [0; 4];
    assert_eq!(
        cpu.matmul_i8_ternary(&[1; 6], &w, &mut out[..3]),
        Err(CpuError::OutputShape {
            m: 2,
            n: 2,
            expected: 4,
            got: 3
        })
    );
    assert_eq!(
        cpu.matmul_i8_ternary(&[1; 5], &w, &mut out),
        Err(CpuError::RaggedOperand {
            operand: "x",
            len: 5,
            k: 3
        })
    );
    assert_eq!(
        cpu.matmul_i8_ternary(&[1, 2, 3, 4, -128, 6], &w, &mut out),
        Err(CpuError::ValueOutOfRange {
            operand: "x",
            index: 4
        })
    );
    assert_eq!(
        cpu.matmul_i8_i8_nt(&[1; 6], &[1, 1, 1, 1, 1, -128], 3, &mut out),
        Err(CpuError::ValueOutOfRange {
            operand: "y",
            index: 5
        })
    );
    assert_eq!(
        cpu.matmul_i8_i8_nt(&[1; 6], &[1; 7], 3, &mut out),
        Err(CpuError::RaggedOperand {
            operand: "y",
            len: 7,
            k: 3
        })
    );
    assert_eq!(
        cpu.matmul_i8_i8_nt(&[], &[], 0, &mut out),
        Err(CpuError::EmptyReduction)
    );
    assert_eq!(cpu.with_threads(0).unwrap_err(), CpuError::ZeroThreads);
    // No rows in, no rows out.
    assert_eq!(cpu.matmul_i8_ternary(&[], &w, &mut []), Ok(()));
}

#[test]
fn unavailable_levels_are_refused() {
    let best = SimdLevel::detect();
    assert!(SimdLevel::available().contains(&SimdLevel::Scalar));
    assert_eq!(Cpu::new().simd(), best);
    for level in SimdLevel::ALL {
        let forced = Cpu::new().with_simd(level);
        if level.is_available() {
            assert_eq!(forced.unwrap().simd(), level);
        } else {
            assert_eq!(
                forced.unwrap_err(),
                CpuError::SimdUnavailable { level, best }
            );
        }
    }
    eprintln!("SIMD levels on this CPU: {:?}", SimdLevel::available());
}

#[test]
fn transposed_weights_give_the_backward_product() {
    // (x · Wᵀ)ᵀ-style check: multiplying by the packed transpose equals the reference with the transposed values.
    let key = Key(13);
    let (n, k, m) = (37, 70, 9);
    let values = random_ternary(key, 0, n * k);
    let w = TernaryMatrix::from_values(n, k, &values).unwrap();
    let wt = w.transpose();
    assert_eq!(wt.transpose(), w);
    let g = random_i8(key, 1, m * n);
    let mut transposed = vec![0i8; n * k];
    for j in 0..n {
        for t in 0..k {
            transposed[t * n + j] = values[j * k + t];
        }
    }
    let expected = reference(&g, &transposed, n);
    for cpu in contexts() {
        let mut out = vec![0; m * k];
        cpu.matmul_i8_ternary(&g, &wt, &mut out).unwrap();
        assert_eq!(out, expected);
    }
}
