//! A byte-level tokenizer for dataset tests: one token per byte, plus ChatML's special tokens.

use tern_kernels::tokenizer::Encode;

/// `<|im_start|>`.
pub const IM_START: u32 = 256;
/// `<|im_end|>`: the EOS and end-of-turn token, as in SmolLM2.
pub const IM_END: u32 = 257;
/// `<|endoftext|>`.
pub const END_OF_TEXT: u32 = 258;

const SPECIALS: [(&str, u32); 3] = [
    ("<|im_start|>", IM_START),
    ("<|im_end|>", IM_END),
    ("<|endoftext|>", END_OF_TEXT),
];

/// Bytes are ids 0..=255; special strings are parsed only when asked.
#[derive(Debug, Clone, Copy)]
pub struct ByteTokenizer {
    /// What [`Encode::bos`] reports.
    pub bos: Option<u32>,
}

impl ByteTokenizer {
    /// No BOS, EOS `<|im_end|>` (SmolLM2's setting).
    pub fn new() -> Self {
        Self { bos: None }
    }

    /// Text of `ids`, special tokens written as their strings.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::new();
        for &id in ids {
            match SPECIALS.iter().find(|s| s.1 == id) {
                Some((text, _)) => bytes.extend_from_slice(text.as_bytes()),
                None => bytes.push(u8::try_from(id).expect("a byte or a special token")),
            }
        }
        String::from_utf8(bytes).expect("tests decode whole characters")
    }
}

impl Encode for ByteTokenizer {
    fn encode(&self, text: &str, parse_special: bool) -> Vec<u32> {
        let mut ids = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let special = SPECIALS
                .iter()
                .find(|(s, _)| parse_special && rest.starts_with(s));
            match special {
                Some((s, id)) => {
                    ids.push(*id);
                    rest = &rest[s.len()..];
                }
                None => {
                    let c = rest.chars().next().expect("rest is not empty");
                    ids.extend(rest[..c.len_utf8()].bytes().map(u32::from));
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        ids
    }

    fn bos(&self) -> Option<u32> {
        self.bos
    }

    fn eos(&self) -> u32 {
        IM_END
    }
}

#[test]
fn byte_tokenizer_round_trips_and_parses_specials_only_when_asked() {
    let t = ByteTokenizer::new();
    let text = "<|im_start|>user\nhé<|im_end|>";
    assert_eq!(t.encode(text, true)[0], IM_START);
    assert_eq!(t.encode(text, true).len(), 1 + 5 + 3 + 1);
    assert_eq!(t.encode(text, false).len(), text.len());
    assert_eq!(t.decode(&t.encode(text, true)), text);
    assert_eq!(t.decode(&t.encode(text, false)), text);
}
