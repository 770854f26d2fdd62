//! Tokenized training examples: fixed-length rows of tokens with a loss mask, before any split or ordering.

/// Where the examples came from; decides how the summary describes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetKind {
    /// Plain text cut into windows.
    Text,
    /// One chat conversation per example.
    Chat,
}

/// Counts gathered while tokenizing, for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExampleStats {
    /// Plain text or chat.
    pub kind: DatasetKind,
    /// Documents (plain text) or conversations (chat) read.
    pub documents: usize,
    /// Tokens the input produced, special tokens included, before cutting, truncation or padding.
    pub tokens: u64,
    /// Tokens that no example holds: the plain-text tail too short for one more example, or what truncation cut
    /// from long conversations.
    pub dropped_tokens: u64,
    /// Conversations cut to `seq_len + 1` tokens (always 0 for plain text).
    pub truncated_examples: usize,
    /// Padding tokens appended to short conversations (always 0 for plain text).
    pub padding_tokens: u64,
    /// Target positions with loss mask 1, over all examples.
    pub loss_tokens: u64,
}

/// `n` examples of `seq_len + 1` tokens each, with a loss mask over the `seq_len` targets of each.
///
/// Row `i` gives inputs `tokens[i][..seq_len]` and targets `tokens[i][1..]`; `loss_mask[i][j]` is 1 when target `j`
/// (token `j + 1`) counts in the loss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Examples {
    seq_len: usize,
    tokens: Vec<u32>,
    loss_mask: Vec<u8>,
    stats: ExampleStats,
}

/// One example, borrowed from [`Examples`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example<'a> {
    /// `seq_len + 1` token ids.
    pub tokens: &'a [u32],
    /// `seq_len` flags (0 or 1), one per target.
    pub loss_mask: &'a [u8],
}

impl Examples {
    /// Empty examples of `seq_len + 1` tokens, to be filled with [`Examples::push`]; `seq_len > 0`.
    pub(crate) fn new(seq_len: usize, kind: DatasetKind) -> Self {
        debug_assert!(seq_len > 0);
        let stats = ExampleStats {
            kind,
            documents: 0,
            tokens: 0,
            dropped_tokens: 0,
            truncated_examples: 0,
            padding_tokens: 0,
            loss_tokens: 0,
        };
        Self {
            seq_len,
            tokens: Vec::new(),
            loss_mask: Vec::new(),
            stats,
        }
    }

    /// Appends one example; the lengths are the caller's invariant.
    pub(crate) fn push(&mut self, tokens: &[u32], loss_mask: &[u8]) {
        debug_assert_eq!(tokens.len(), self.seq_len + 1);
        debug_assert_eq!(loss_mask.len(), self.seq_len);
        self.tokens.extend_from_slice(tokens);
        self.loss_mask.extend_from_slice(loss_mask);
        self.stats.loss_tokens += loss_mask.iter().map(|&m| u64::from(m)).sum::<u64>();
    }

    pub(crate) fn stats_mut(&mut self) -> &mut ExampleStats {
        &mut self.stats
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.loss_mask.len() / self.seq_len
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Targets per example; each example holds one token more.
    pub fn seq_len(&self) -> usize {
        self.seq_len
    }

    /// Example `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<Example<'_>> {
        let row = self.seq_len + 1;
        Some(Example {
            tokens: self.tokens.get(i * row..(i + 1) * row)?,
            loss_mask: self
                .loss_mask
                .get(i * self.seq_len..(i + 1) * self.seq_len)?,
        })
    }

    /// Counts gathered while tokenizing.
    pub fn stats(&self) -> &ExampleStats {
        &self.stats
    }
}
