//! The kinds of vocabulary entry a GGUF file distinguishes (`tokenizer.ggml.token_type`).

/// What a vocabulary entry is, which decides how it is matched and decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenType {
    /// No type given (GGUF code 0, or a code this crate does not know).
    Undefined,
    /// An ordinary BPE token (1).
    Normal,
    /// The unknown-text token (2); matched as a special token.
    Unknown,
    /// A control token such as `<|im_start|>` (3); matched in text only when special tokens are parsed.
    Control,
    /// A hand-added token (4); always matched as a whole string before splitting.
    UserDefined,
    /// A reserved, unused slot (5).
    Unused,
    /// A raw byte written `<0xAB>` (6).
    Byte,
}

impl TokenType {
    /// The type a GGUF `token_type` code stands for.
    pub fn from_gguf(code: i32) -> Self {
        match code {
            1 => Self::Normal,
            2 => Self::Unknown,
            3 => Self::Control,
            4 => Self::UserDefined,
            5 => Self::Unused,
            6 => Self::Byte,
            _ => Self::Undefined,
        }
    }

    /// Whether the entry is matched as a whole string rather than built by merges.
    pub fn is_special(self) -> bool {
        matches!(self, Self::Unknown | Self::Control | Self::UserDefined)
    }
}
