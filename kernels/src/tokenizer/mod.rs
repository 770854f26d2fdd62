//! The BPE tokenizer a model file embeds (in progress).

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
