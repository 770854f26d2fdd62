//! Plain text: documents tokenized, concatenated and cut into windows of `seq_len + 1` tokens.

use super::{DataError, DatasetKind, Examples};
use crate::tokenizer::Encode;

/// Tokenizes `documents` in order and cuts the token stream into non-overlapping examples of `seq_len + 1` tokens.
///
/// Each document becomes `[bos] text eos`: the BOS token only when [`Encode::bos`] gives one (a tokenizer reports
/// none when its model does not add BOS), the EOS token always, so the model learns where a document ends. The text
/// is encoded with `parse_special = false`: a document that contains a string such as `<|endoftext|>` trains on those
/// characters, not on the special token. Documents are concatenated across their borders, so an example may span
/// two documents; the tail that does not fill a whole example is dropped and counted in
/// [`ExampleStats::dropped_tokens`](super::ExampleStats::dropped_tokens). Every target counts in the loss.
///
/// Errors: `seq_len == 0`, or no document holds any text.
pub fn text_examples<T, S>(
    documents: &[S],
    tokenizer: &T,
    seq_len: usize,
) -> Result<Examples, DataError>
where
    T: Encode + ?Sized,
    S: AsRef<str>,
{
    if seq_len == 0 {
        return Err(DataError::ZeroSeqLen);
    }
    if documents.iter().all(|d| d.as_ref().is_empty()) {
        let what = if documents.is_empty() {
            "no documents"
        } else {
            "every document is empty"
        };
        return Err(DataError::Empty {
            what: what.to_owned(),
        });
    }
    let mut stream = Vec::new();
    for document in documents {
        stream.extend(tokenizer.bos());
        stream.extend(tokenizer.encode(document.as_ref(), false));
        stream.push(tokenizer.eos());
    }
    let row = seq_len + 1;
    let mut examples = Examples::new(seq_len, DatasetKind::Text);
    let full_mask = vec![1u8; seq_len];
    let mut rows = stream.chunks_exact(row);
    for chunk in rows.by_ref() {
        examples.push(chunk, &full_mask);
    }
    let dropped = rows.remainder().len();
    let stats = examples.stats_mut();
    stats.documents = documents.len();
    stats.tokens = stream.len() as u64;
    stats.dropped_tokens = dropped as u64;
    Ok(examples)
}

/// [`text_examples`] over one document given as bytes (a dataset blob), which must be UTF-8.
pub fn text_examples_from_bytes<T>(
    blob: &[u8],
    tokenizer: &T,
    seq_len: usize,
) -> Result<Examples, DataError>
where
    T: Encode + ?Sized,
{
    let text = std::str::from_utf8(blob).map_err(|e| {
        let byte = e.valid_up_to();
        let line = blob[..byte].iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = blob[..byte]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        DataError::NotUtf8 {
            line,
            byte: byte - line_start,
        }
    })?;
    text_examples(&[text], tokenizer, seq_len)
}
