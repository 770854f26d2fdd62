//! The BPE tokenizer a model file embeds.
//!
//! GGUF model files carry their tokenizer as metadata: the vocabulary, each entry's type, the merge list and the
//! name of the pre-tokenizer (the regex split applied before merging). [`Tokenizer`] rebuilds byte-level BPE (the
//! `gpt2` tokenizer model, which SmolLM2, GPT-2, Llama 3, Qwen 2 and many others use) and reproduces the
//! reference tokenizations of llama.cpp's vocabulary test vectors.
//!
//! Encoding runs in four steps: special tokens are cut out as whole strings; the rest is split into words by the
//! [`PreTokenizer`]; each word's bytes are spelled in GPT-2's byte characters; adjacent symbols are merged by rank.
//! Decoding concatenates each token's bytes, so `decode(encode(text)) == text` for every text.
//!
//! ```no_run
//! use tern_kernels::io::gguf::Gguf;
//! use tern_kernels::tokenizer::{Encode, Tokenizer};
//!
//! let tokenizer = Tokenizer::from_gguf(&Gguf::read("SmolLM2-135M-Instruct.Q4_1.gguf")?)?;
//! let prompt = "<|im_start|>user\nHi<|im_end|>\n";
//! let ids = tokenizer.encode(prompt, true);
//! assert_eq!(ids[0], tokenizer.token_id("<|im_start|>").unwrap());
//! assert_eq!(tokenizer.decode(&ids)?, prompt);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bpe;
mod byte_level;
mod error;
mod gguf;
mod merges;
mod pre_tokenizer;
mod special;
mod token_type;

pub use bpe::{Tokenizer, TokenizerSpec};
pub use error::TokenizerError;
pub use pre_tokenizer::PreTokenizer;
pub use token_type::TokenType;

/// Text to token ids: what datasets need from a tokenizer.
pub trait Encode {
    /// Token ids of `text`, with no special tokens added; special-token strings in `text` (such as
    /// `<|im_start|>`) map to their ids only when `parse_special` is true.
    fn encode(&self, text: &str, parse_special: bool) -> Vec<u32>;
    /// The beginning-of-sequence token, when the model uses one.
    fn bos(&self) -> Option<u32>;
    /// The end-of-sequence token (end of a document or of an assistant turn).
    fn eos(&self) -> u32;
}
