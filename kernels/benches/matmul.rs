//! Throughput of the CPU integer matmuls on SmolLM2-135M's shapes, per SIMD level and thread count.
//!
//! `cargo bench -p tern-kernels --bench matmul` prints one table row per shape, operand kind and SIMD level: GOP/s
//! (2·m·n·k integer operations per second, best of a few runs) on one thread and on all threads. Arguments after
//! `--` keep only the shapes whose name contains one of them (`-- lm gate`).

use std::time::{Duration, Instant};
use tern_kernels::cpu::{Cpu, SimdLevel};
use tern_kernels::rng::Key;
use tern_kernels::tensor::{Int8Matrix, TernaryMatrix};

/// (name, m, n, k): 1024 tokens (sequence 256 × batch 4); the LM head on one sequence.
const SHAPES: [(&str, usize, usize, usize); 5] = [
    ("q/o 576→576", 1024, 576, 576),
    ("k/v 576→192", 1024, 192, 576),
    ("gate/up 576→1536", 1024, 1536, 576),
    ("down 1536→576", 1024, 576, 1536),
    ("lm head 576→49152", 256, 49152, 576),
];

/// Time spent measuring one configuration (after one warm-up run).
const BUDGET: Duration = Duration::from_millis(1000);

fn main() {
    let all = Cpu::new().threads();
    let key = Key(0xbe4c);
    println!(
        "CPU threads: {all}; SIMD levels here: {:?}",
        SimdLevel::available()
    );
    println!(
        "{:<26} {:<8} {:<13} {:>12} {:>12} {:>8}",
        "shape (m=rows)",
        "weights",
        "SIMD",
        "1 thread",
        format!("{all} threads"),
        "speedup"
    );
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    for (name, m, n, k) in SHAPES {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let x: Vec<i8> = (0..(m * k) as u32)
            .map(|i| (key.below(255, 0, i, 0) as i32 - 127) as i8)
            .collect();
        let ternary: Vec<i8> = (0..(n * k) as u32)
            .map(|i| key.below(3, 1, i, 0) as i8 - 1)
            .collect();
        let int8: Vec<i8> = (0..(n * k) as u32)
            .map(|i| (key.below(255, 2, i, 0) as i32 - 127) as i8)
            .collect();
        let wt = TernaryMatrix::from_values(n, k, &ternary).expect("ternary values");
        let wi = Int8Matrix::from_values(n, k, &int8).expect("int8 values");
        let mut out = vec![0i32; m * n];
        let ops = 2.0 * (m * n * k) as f64;
        for kind in ["ternary", "int8"] {
            for level in SimdLevel::ALL {
                let label = format!("{name} (m={m})");
                let Ok(cpu) = Cpu::new().with_simd(level) else {
                    println!(
                        "{label:<26} {kind:<8} {:<13} {:>12} {:>12}",
                        level.to_string(),
                        "n/a",
                        "n/a"
                    );
                    continue;
                };
                let mut rates = Vec::new();
                for threads in [1, all] {
                    let cpu = cpu.with_threads(threads).expect("at least one thread");
                    let seconds = best_time(|| match kind {
                        "ternary" => cpu
                            .matmul_i8_ternary(&x, &wt, &mut out)
                            .expect("valid shapes"),
                        _ => cpu.matmul_i8_i8(&x, &wi, &mut out).expect("valid shapes"),
                    });
                    rates.push(ops / seconds / 1e9);
                }
                println!(
                    "{label:<26} {kind:<8} {:<13} {:>8.1} GOP/s {:>6.1} GOP/s {:>7.2}x",
                    level.to_string(),
                    rates[0],
                    rates[1],
                    rates[1] / rates[0]
                );
            }
        }
    }
}

/// Best wall time of `run` over repeated calls within [`BUDGET`] (at least two timed calls).
fn best_time(mut run: impl FnMut()) -> f64 {
    run();
    let start = Instant::now();
    let mut best = f64::INFINITY;
    let mut calls = 0;
    while calls < 2 || start.elapsed() < BUDGET {
        let t = Instant::now();
        run();
        best = best.min(t.elapsed().as_secs_f64());
        calls += 1;
    }
    best
}
