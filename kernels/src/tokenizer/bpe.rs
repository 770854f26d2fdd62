//! The byte-level BPE tokenizer: special tokens, pre-tokenizer split, byte spelling, merges.

use std::collections::HashMap;

use super::merges::{Merges, NO_TOKEN};
use super::special::{Fragment, SpecialTokens};
use super::{Encode, PreTokenizer, TokenType, TokenizerError, byte_level};

/// Everything a byte-level BPE tokenizer is built from: the `tokenizer.*` metadata of a GGUF file, or a
/// hand-made vocabulary.
#[derive(Debug, Clone, Default)]
pub struct TokenizerSpec {
    /// `tokenizer.ggml.model`; only `"gpt2"` (byte-level BPE) is supported.
    pub model: String,
    /// `tokenizer.ggml.pre`, the pre-tokenizer name; `None` uses llama.cpp's `default` split.
    pub pre: Option<String>,
    /// `tokenizer.ggml.tokens`: each id's text, spelled in GPT-2 byte characters.
    pub tokens: Vec<String>,
    /// `tokenizer.ggml.token_type`, one per token; empty means every token is normal.
    pub token_types: Vec<TokenType>,
    /// `tokenizer.ggml.merges`: `"left right"` pairs, highest priority first.
    pub merges: Vec<String>,
    /// `tokenizer.ggml.bos_token_id`.
    pub bos: Option<u32>,
    /// `tokenizer.ggml.eos_token_id`; when absent, the `<|endoftext|>` token if there is one.
    pub eos: Option<u32>,
    /// `tokenizer.ggml.add_bos_token`; when absent, the pre-tokenizer family's custom (true for Llama 3). Without a
    /// `bos` token it has no effect.
    pub add_bos: Option<bool>,
    /// `tokenizer.ggml.padding_token_id`.
    pub padding: Option<u32>,
    /// `tokenizer.chat_template`, the Jinja template for chat prompts.
    pub chat_template: Option<String>,
}

/// A byte-level BPE tokenizer, as GPT-2, SmolLM2, Llama 3, Qwen 2 and others use.
#[derive(Debug)]
pub struct Tokenizer {
    tokens: Vec<String>,
    types: Vec<TokenType>,
    ids: HashMap<String, u32>,
    /// The token of each single byte (its one-character spelling), [`NO_TOKEN`] if the vocabulary lacks it.
    byte_tokens: [u32; 256],
    /// The bytes each token decodes to.
    pieces: Vec<Vec<u8>>,
    merges: Merges,
    pre: PreTokenizer,
    special: SpecialTokens,
    bos: Option<u32>,
    eos: u32,
    add_bos: bool,
    padding: Option<u32>,
    chat_template: Option<String>,
}

impl Tokenizer {
    /// Builds the tokenizer `spec` describes.
    pub fn new(spec: TokenizerSpec) -> Result<Self, TokenizerError> {
        if spec.model != "gpt2" {
            return Err(TokenizerError::UnsupportedModel(spec.model));
        }
        let pre = PreTokenizer::from_name(spec.pre.as_deref().unwrap_or("default"))?;
        let size = spec.tokens.len();
        if size == 0 {
            return Err(TokenizerError::EmptyVocabulary);
        }
        if size >= u32::MAX as usize {
            return Err(TokenizerError::TooManyTokens(size));
        }
        let types = if spec.token_types.is_empty() {
            vec![TokenType::Normal; size]
        } else {
            spec.token_types
        };
        if types.len() != size {
            return Err(TokenizerError::TypeCount {
                tokens: size,
                types: types.len(),
            });
        }
        let mut ids = HashMap::with_capacity(size);
        for (id, text) in spec.tokens.iter().enumerate() {
            // An empty entry can never be matched; llama.cpp renames it, here it simply stays unreachable.
            if text.is_empty() {
                continue;
            }
            if let Some(first) = ids.insert(text.clone(), id as u32) {
                return Err(TokenizerError::DuplicateToken {
                    text: text.clone(),
                    first,
                    second: id as u32,
                });
            }
        }
        let check = |what: &'static str, id: Option<u32>| match id {
            Some(id) if id as usize >= size => Err(TokenizerError::SpecialOutOfRange {
                what,
                id: id.into(),
                size,
            }),
            _ => Ok(id),
        };
        let bos = check("beginning-of-sequence", spec.bos)?;
        let eos = check("end-of-sequence", spec.eos)?
            .or_else(|| ids.get("<|endoftext|>").copied())
            .ok_or(TokenizerError::MissingEos)?;
        let padding = check("padding", spec.padding)?;
        let add_bos = spec.add_bos.unwrap_or(pre.adds_bos_by_default()) && bos.is_some();

        let mut byte_tokens = [NO_TOKEN; 256];
        for (byte, slot) in byte_tokens.iter_mut().enumerate() {
            if let Some(&id) =
                ids.get(byte_level::byte_char(byte as u8).encode_utf8(&mut [0; 4]) as &str)
            {
                *slot = id;
            }
        }
        let pieces = spec
            .tokens
            .iter()
            .zip(&types)
            .map(|(text, &kind)| token_bytes(text, kind))
            .collect();
        let merges = Merges::new(&spec.merges, &ids);
        let special = SpecialTokens::new(&spec.tokens, &types);
        Ok(Self {
            tokens: spec.tokens,
            types,
            ids,
            byte_tokens,
            pieces,
            merges,
            pre,
            special,
            bos,
            eos,
            add_bos,
            padding,
            chat_template: spec.chat_template,
        })
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// Number of merges that can produce a token.
    pub fn merge_count(&self) -> usize {
        self.merges.len()
    }

    /// Number of tokens matched as whole strings (control, unknown and user-defined).
    pub fn special_count(&self) -> usize {
        self.special.len()
    }

    /// The pre-tokenizer in use.
    pub fn pre_tokenizer(&self) -> &PreTokenizer {
        &self.pre
    }

    /// The vocabulary entry of `id`, as stored (byte characters for normal tokens).
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// The type of `id`.
    pub fn token_type(&self, id: u32) -> Option<TokenType> {
        self.types.get(id as usize).copied()
    }

    /// The id whose vocabulary entry is exactly `text`.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    /// The beginning-of-sequence token the file names, whether or not the model wants it prepended.
    pub fn bos_token(&self) -> Option<u32> {
        self.bos
    }

    /// Whether the model expects its beginning-of-sequence token at the start of every sequence.
    pub fn add_bos(&self) -> bool {
        self.add_bos
    }

    /// The padding token, when the file names one.
    pub fn padding(&self) -> Option<u32> {
        self.padding
    }

    /// The chat prompt template (Jinja), when the file embeds one.
    pub fn chat_template(&self) -> Option<&str> {
        self.chat_template.as_deref()
    }

    /// The bytes `ids` stand for, exactly. Special tokens contribute their text.
    pub fn decode_bytes(&self, ids: &[u32]) -> Result<Vec<u8>, TokenizerError> {
        let mut out = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            let piece = self
                .pieces
                .get(id as usize)
                .ok_or(TokenizerError::UnknownId {
                    id,
                    size: self.pieces.len(),
                })?;
            out.extend_from_slice(piece);
        }
        Ok(out)
    }

    /// The text `ids` stand for; bytes that are not valid UTF-8 (a character cut between tokens, as happens at the
    /// end of a generation) become U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        let bytes = self.decode_bytes(ids)?;
        Ok(match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// Appends the tokens of plain text (no special tokens in it).
    fn encode_text(&self, text: &str, out: &mut Vec<u32>) {
        let mut symbols = Vec::new();
        for word in self.pre.split(text) {
            if self.pre.ignores_merges()
                && let Some(&id) = self.ids.get(&byte_level::encode(word.as_bytes()))
            {
                out.push(id);
                continue;
            }
            symbols.clear();
            symbols.extend(word.bytes().map(|b| self.byte_tokens[b as usize]));
            self.merges.apply(&mut symbols);
            out.extend(symbols.iter().copied().filter(|&t| t != NO_TOKEN));
        }
    }
}

/// The bytes a vocabulary entry decodes to: normal entries are spelled in byte characters, special entries are
/// their own text, byte entries are `<0xAB>`, unused ones nothing.
fn token_bytes(text: &str, kind: TokenType) -> Vec<u8> {
    match kind {
        TokenType::Normal => {
            let mut out = Vec::with_capacity(text.len());
            byte_level::decode_into(text, &mut out);
            out
        }
        TokenType::Control | TokenType::Unknown | TokenType::UserDefined => {
            text.as_bytes().to_vec()
        }
        TokenType::Byte => parse_byte_token(text).map(|b| vec![b]).unwrap_or_default(),
        TokenType::Unused | TokenType::Undefined => Vec::new(),
    }
}

/// The byte of a `<0xAB>` entry.
fn parse_byte_token(text: &str) -> Option<u8> {
    let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
    u8::from_str_radix(hex, 16).ok()
}

impl Encode for Tokenizer {
    fn encode(&self, text: &str, parse_special: bool) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        for fragment in self.special.partition(text, parse_special) {
            match fragment {
                Fragment::Token(id) => out.push(id),
                Fragment::Text(t) => self.encode_text(t, &mut out),
            }
        }
        out
    }

    /// The beginning-of-sequence token when the model expects one prepended (`add_bos_token`), else `None`.
    fn bos(&self) -> Option<u32> {
        if self.add_bos { self.bos } else { None }
    }

    fn eos(&self) -> u32 {
        self.eos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vocabulary with every byte, a few merges and two special tokens.
    fn tiny(pre: &str) -> Tokenizer {
        let mut tokens: Vec<String> = (0..=255u8)
            .map(|b| byte_level::byte_char(b).to_string())
            .collect();
        let mut types = vec![TokenType::Normal; 256];
        for (text, kind) in [
            ("he", TokenType::Normal),
            ("ll", TokenType::Normal),
            ("hell", TokenType::Normal),
            ("hello", TokenType::Normal),
            ("Ġw", TokenType::Normal),
            ("<|im_start|>", TokenType::Control),
            ("<|endoftext|>", TokenType::Control),
            ("<0x41>", TokenType::Byte),
        ] {
            tokens.push(text.to_owned());
            types.push(kind);
        }
        Tokenizer::new(TokenizerSpec {
            model: "gpt2".into(),
            pre: Some(pre.into()),
            tokens,
            token_types: types,
            merges: ["h e", "l l", "he ll", "hell o", "Ġ w"]
                .map(str::to_owned)
                .to_vec(),
            ..TokenizerSpec::default()
        })
        .unwrap()
    }

    #[test]
    fn merges_build_words_and_bytes_cover_the_rest() {
        let t = tiny("gpt-2");
        let id = |text: &str| t.token_id(text).unwrap();
        assert_eq!(
            t.encode("hello world", false),
            [id("hello"), id("Ġw"), id("o"), id("r"), id("l"), id("d")]
        );
        assert_eq!(t.encode("hell", false), [id("hell")]);
    }

    #[test]
    fn shareable_across_threads() {
        fn check<T: Send + Sync>() {}
        check::<Tokenizer>();
    }

    #[test]
    fn decode_inverts_encode() {
        let t = tiny("smollm");
        for text in ["hello world", "", " \n\t 12 €uro 😀", "<|im_start|>x"] {
            let ids = t.encode(text, false);
            assert_eq!(t.decode(&ids).unwrap(), text);
            assert_eq!(t.decode_bytes(&ids).unwrap(), text.as_bytes());
        }
    }

    #[test]
    fn special_tokens_need_parse_special() {
        let t = tiny("gpt-2");
        let start = t.token_id("<|im_start|>").unwrap();
        assert_eq!(t.encode("<|im_start|>", true), [start]);
        assert!(t.encode("<|im_start|>", false).len() > 1);
        assert_eq!(t.eos(), t.token_id("<|endoftext|>").unwrap());
        assert_eq!(Encode::bos(&t), None);
    }

    #[test]
    fn byte_tokens_and_cut_characters_decode() {
        let t = tiny("gpt-2");
        assert_eq!(
            t.decode_bytes(&[t.token_id("<0x41>").unwrap()]).unwrap(),
            b"A"
        );
        let euro = t.encode("€", false);
        assert_eq!(euro.len(), 3);
        assert_eq!(t.decode(&euro[..2]).unwrap(), "\u{FFFD}");
        assert!(matches!(
            t.decode(&[9999]),
            Err(TokenizerError::UnknownId { id: 9999, .. })
        ));
    }

    #[test]
    fn bad_specs_are_refused() {
        let spec = |model: &str, pre: &str| TokenizerSpec {
            model: model.into(),
            pre: Some(pre.into()),
            tokens: vec!["a".into(), "a".into()],
            eos: Some(0),
            ..TokenizerSpec::default()
        };
        assert!(
            matches!(Tokenizer::new(spec("llama", "gpt-2")), Err(TokenizerError::UnsupportedModel(m)) if m == "llama")
        );
        assert!(matches!(
            Tokenizer::new(spec("gpt2", "nope")),
            Err(TokenizerError::UnsupportedPreTokenizer { .. })
        ));
        assert!(matches!(
            Tokenizer::new(spec("gpt2", "gpt-2")),
            Err(TokenizerError::DuplicateToken { .. })
        ));
        let mut s = spec("gpt2", "gpt-2");
        s.tokens = vec!["a".into()];
        s.eos = Some(7);
        assert!(matches!(
            Tokenizer::new(s),
            Err(TokenizerError::SpecialOutOfRange { id: 7, .. })
        ));
    }
}
