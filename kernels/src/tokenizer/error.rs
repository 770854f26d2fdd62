//! What can go wrong when a tokenizer is built or asked to decode.

/// Why a tokenizer could not be built from a model file, or could not decode an id.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// The model file names a tokenizer family other than byte-level BPE.
    #[error(
        "tokenizer model `{0}` is not supported: only byte-level BPE (tokenizer.ggml.model = \"gpt2\") is; \
         use a model whose GGUF embeds a GPT-2-style BPE vocabulary"
    )]
    UnsupportedModel(String),
    /// The model file names a pre-tokenizer this crate has no splitting rules for.
    #[error(
        "pre-tokenizer `{name}` (tokenizer.ggml.pre) is not supported; supported names: {supported}"
    )]
    UnsupportedPreTokenizer {
        /// The name the model file gave.
        name: String,
        /// The names that are supported, comma-separated.
        supported: String,
    },
    /// A metadata key the tokenizer needs is absent or holds another type.
    #[error("tokenizer metadata: {0}")]
    Gguf(#[from] crate::io::gguf::GgufError),
    /// The vocabulary has no tokens.
    #[error("the vocabulary is empty: tokenizer.ggml.tokens has no entries")]
    EmptyVocabulary,
    /// The vocabulary has more tokens than `u32` ids can number.
    #[error("the vocabulary has {0} tokens, more than u32 token ids can address")]
    TooManyTokens(usize),
    /// `token_type` does not give one type per token.
    #[error(
        "tokenizer.ggml.token_type has {types} entries but the vocabulary has {tokens}: the file is inconsistent"
    )]
    TypeCount {
        /// Number of tokens.
        tokens: usize,
        /// Number of token types.
        types: usize,
    },
    /// The same token text appears under two ids, so text-to-id lookups would be ambiguous.
    #[error(
        "token {text:?} appears twice in the vocabulary (ids {first} and {second}): the file is corrupt"
    )]
    DuplicateToken {
        /// The token text.
        text: String,
        /// The first id it has.
        first: u32,
        /// The second id it has.
        second: u32,
    },
    /// A special-token id (bos, eos, padding) points outside the vocabulary.
    #[error(
        "{what} token id {id} is outside the vocabulary of {size} tokens: the file is inconsistent"
    )]
    SpecialOutOfRange {
        /// Which special token.
        what: &'static str,
        /// The id the file gave.
        id: u64,
        /// The vocabulary size.
        size: usize,
    },
    /// No end-of-sequence token is given and none can be found by its usual text.
    #[error(
        "the tokenizer has no end-of-sequence token: set tokenizer.ggml.eos_token_id \
         (no `<|endoftext|>` token to fall back on either)"
    )]
    MissingEos,
    /// A pre-tokenizer pattern did not compile (a defect in this crate, not in the input).
    #[error("pre-tokenizer `{name}`: pattern {pattern:?} does not compile: {reason}")]
    Pattern {
        /// The pre-tokenizer name.
        name: String,
        /// The pattern.
        pattern: String,
        /// The regex engine's message.
        reason: String,
    },
    /// An id given to `decode` is not in the vocabulary.
    #[error("cannot decode token id {id}: the vocabulary has {size} tokens")]
    UnknownId {
        /// The id.
        id: u32,
        /// The vocabulary size.
        size: usize,
    },
}
