//! What a dataset holds, in the figures the command line prints before training.

use std::fmt;

use super::DatasetKind;

/// A dataset's counts after tokenization and split, and what `steps` steps make of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetSummary {
    /// Plain text or chat.
    pub kind: DatasetKind,
    /// Documents or conversations read.
    pub documents: usize,
    /// Targets per example.
    pub seq_len: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// The validation fraction asked for, in thousandths.
    pub validation_per_mille: u32,
    /// Examples in all.
    pub examples: usize,
    /// Examples training draws from.
    pub train_examples: usize,
    /// Examples held out for validation.
    pub validation_examples: usize,
    /// Tokens the input produced.
    pub tokens: u64,
    /// Tokens no example holds (the plain-text tail; what truncation cut).
    pub dropped_tokens: u64,
    /// Conversations truncated to `seq_len + 1` tokens.
    pub truncated_examples: usize,
    /// Padding tokens in short conversations.
    pub padding_tokens: u64,
    /// Target positions that count in the loss, over all examples.
    pub loss_tokens: u64,
    /// Training steps planned.
    pub steps: u32,
    /// Epochs those steps start (a partly used last epoch counts).
    pub epochs: u64,
}

impl fmt::Display for DatasetSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, unit) = match self.kind {
            DatasetKind::Text => ("plain text", "documents"),
            DatasetKind::Chat => ("chat", "conversations"),
        };
        writeln!(
            f,
            "dataset: {kind}, {} {unit}, {} tokens",
            self.documents, self.tokens
        )?;
        writeln!(
            f,
            "examples: {} of seq_len + 1 = {} tokens: {} train, {} validation ({}/1000 asked)",
            self.examples,
            self.seq_len + 1,
            self.train_examples,
            self.validation_examples,
            self.validation_per_mille
        )?;
        match self.kind {
            DatasetKind::Text => writeln!(f, "dropped: {} tokens of tail", self.dropped_tokens)?,
            DatasetKind::Chat => writeln!(
                f,
                "truncated: {} conversations ({} tokens cut); padding: {} tokens",
                self.truncated_examples, self.dropped_tokens, self.padding_tokens
            )?,
        }
        writeln!(f, "loss tokens: {}", self.loss_tokens)?;
        write!(
            f,
            "training: {} steps x batch {} = {} examples, {} epoch(s)",
            self.steps,
            self.batch_size,
            u64::from(self.steps) * self.batch_size as u64,
            self.epochs
        )
    }
}
