//! Building a tokenizer from the `tokenizer.*` metadata of a GGUF file.

use crate::io::gguf::Gguf;

use super::{TokenType, Tokenizer, TokenizerError, TokenizerSpec};

impl TokenizerSpec {
    /// The tokenizer description a GGUF file carries. Required: `tokenizer.ggml.model`, `tokenizer.ggml.tokens`,
    /// `tokenizer.ggml.merges`; the rest is optional.
    pub fn from_gguf(gguf: &Gguf) -> Result<Self, TokenizerError> {
        let model = gguf.get_str("tokenizer.ggml.model")?.to_owned();
        if model != "gpt2" {
            // Refuse before copying a vocabulary of another family (SentencePiece files have no merges).
            return Err(TokenizerError::UnsupportedModel(model));
        }
        Ok(Self {
            model,
            pre: gguf.get_str_opt("tokenizer.ggml.pre")?.map(str::to_owned),
            tokens: gguf.get_str_array("tokenizer.ggml.tokens")?.to_vec(),
            token_types: gguf
                .get_i32_array_opt("tokenizer.ggml.token_type")?
                .unwrap_or_default()
                .iter()
                .map(|&code| TokenType::from_gguf(code))
                .collect(),
            merges: gguf.get_str_array("tokenizer.ggml.merges")?.to_vec(),
            bos: gguf.get_u32_opt("tokenizer.ggml.bos_token_id")?,
            eos: gguf.get_u32_opt("tokenizer.ggml.eos_token_id")?,
            add_bos: gguf.get_bool_opt("tokenizer.ggml.add_bos_token")?,
            padding: gguf.get_u32_opt("tokenizer.ggml.padding_token_id")?,
            chat_template: gguf
                .get_str_opt("tokenizer.chat_template")?
                .map(str::to_owned),
        })
    }
}

impl Tokenizer {
    /// The tokenizer a GGUF model (or vocabulary-only) file embeds.
    pub fn from_gguf(gguf: &Gguf) -> Result<Self, TokenizerError> {
        Self::new(TokenizerSpec::from_gguf(gguf)?)
    }
}
