//! The integer arithmetic every backend agrees on.
//!
//! Tern's training step maps `(S_i, batch_i)` to `S_{i+1}` with integer operations only, so a verifier on any
//! CPU or GPU recomputes the same bits (DESIGN.md §4). This module is the contract those operations are written in.
//! Each function here is defined as an exact mathematical function of its integer inputs (a floor, a rounding of an
//! exact rational, a clamp), never as "whatever this loop computes", so a backend may implement it however it likes
//! (64-bit products on the CPU, 16-bit pieces in WGSL, any reduction order) and still match bit for bit.
//!
//! The rules:
//! - **One rounding rule**: every division by a power of two rounds half to even ([`round::shr`]), and so does every
//!   other rescaling ([`scale::Multiplier::apply`]). Saturation is explicit and named ([`round::sat_i8`]).
//! - **Block floating point**: a block of values (a token's row, a weight row, a group of 32) is stored as integer
//!   mantissas and one power-of-two exponent, chosen from the block's absolute maximum by its bit length (WGSL's
//!   `firstLeadingBit`), so moving between blocks is a shift ([`bfp`]).
//! - **Real-valued constants** (weight scales, the learning rate, RoPE angles, `exp` tables) become integers once,
//!   on the CPU, through IEEE-754 basic operations and the pure-Rust `libm` (which computes the same bits on every
//!   platform), and are then data: the GPU receives tables, it never evaluates a transcendental function.
//! - **Reductions** are sums of integers in an accumulator wide enough that no order overflows; callers bound the
//!   reduction length (for int8 × int8 in i32: `127 · 127 · k < 2^31`).

pub mod bfp;
pub mod math;
pub mod round;
pub mod scale;
