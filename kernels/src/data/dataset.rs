//! The train/validation split and the batch order: which examples step `i` trains on, as a pure function of the
//! data-order key and `i`.

use super::{DataError, DatasetSummary, Examples};
use crate::rng::Key;

/// The validation fraction used unless a job says otherwise: 50/1000 = 5 %.
pub const DEFAULT_VALIDATION_PER_MILLE: u32 = 50;

/// The counter word (third position) from which the split key is drawn; epoch permutations only use words with
/// 0 there, so the split and the training order are independent streams of one key.
const SPLIT_STREAM: u32 = 1;

/// How a dataset is split and batched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetConfig {
    /// Examples per training step.
    pub batch_size: usize,
    /// Share of the examples held out for validation, in thousandths (at least one example is always held out).
    pub validation_per_mille: u32,
}

impl DatasetConfig {
    /// `batch_size` examples per step, with the [`DEFAULT_VALIDATION_PER_MILLE`] validation fraction.
    pub fn new(batch_size: usize) -> Self {
        Self {
            batch_size,
            validation_per_mille: DEFAULT_VALIDATION_PER_MILLE,
        }
    }
}

/// The examples of one step (or one validation batch), row after row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Targets per row; each row holds `seq_len + 1` tokens.
    pub seq_len: usize,
    /// Which examples (indices into [`Examples`]) the rows are, in row order.
    pub examples: Vec<u32>,
    /// `rows × (seq_len + 1)` token ids.
    pub tokens: Vec<u32>,
    /// `rows × seq_len` flags (0 or 1): whether target `j` of a row (its token `j + 1`) counts in the loss.
    pub loss_mask: Vec<u8>,
}

impl Batch {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.examples.len()
    }

    /// The `seq_len` input tokens of `row`.
    pub fn inputs(&self, row: usize) -> &[u32] {
        let start = row * (self.seq_len + 1);
        &self.tokens[start..start + self.seq_len]
    }

    /// The `seq_len` target tokens of `row` (its inputs shifted by one).
    pub fn targets(&self, row: usize) -> &[u32] {
        let start = row * (self.seq_len + 1);
        &self.tokens[start + 1..start + 1 + self.seq_len]
    }

    /// The loss mask of `row`.
    pub fn row_loss_mask(&self, row: usize) -> &[u8] {
        &self.loss_mask[row * self.seq_len..(row + 1) * self.seq_len]
    }
}

/// Examples split into training and validation, with a batch order for training.
///
/// The split: a permutation of all examples under a key drawn from the data-order key puts the first
/// `max(1, n × validation_per_mille / 1000)` examples in validation and the rest in training, so the two never
/// overlap. The order: training examples form a stream, epoch after epoch, epoch `e` being the training examples
/// (in index order) permuted by [`Key::permutation`]`(n_train, e)`; step `i` takes stream positions
/// `i × batch_size .. (i + 1) × batch_size`, so a batch may span the end of one epoch and the start of the next.
/// Computing a batch needs only the key and the step: one permutation of `n_train` (two across an epoch border).
/// Validation batches take the validation examples in index order.
///
/// Steps are `u32`: with at least `batch_size` training examples the epoch of any position then fits `u32` too.
#[derive(Debug, Clone)]
pub struct Dataset {
    examples: Examples,
    key: Key,
    batch_size: usize,
    validation_per_mille: u32,
    train: Vec<u32>,
    validation: Vec<u32>,
}

impl Dataset {
    /// Splits `examples` under the data-order `key` (for a job, `Key::derive(job_id, "data-order", seed)`).
    ///
    /// Errors: batch size 0, a validation fraction of 1000/1000 or more, more than `u32::MAX` examples, and too few
    /// examples for one training batch plus one validation example (the message says how many exist and are
    /// needed).
    pub fn new(examples: Examples, key: Key, config: DatasetConfig) -> Result<Self, DataError> {
        let DatasetConfig {
            batch_size,
            validation_per_mille,
        } = config;
        if batch_size == 0 {
            return Err(DataError::ZeroBatchSize);
        }
        if validation_per_mille >= 1000 {
            return Err(DataError::ValidationFraction {
                per_mille: validation_per_mille,
            });
        }
        let n = examples.len();
        let n_u32 = u32::try_from(n).map_err(|_| DataError::TooManyExamples {
            examples: n,
            max: u64::from(u32::MAX),
        })?;
        let n_validation = validation_count(n, validation_per_mille);
        let n_train = n.saturating_sub(n_validation);
        if n_train < batch_size {
            return Err(DataError::TooFewExamples {
                examples: n,
                example_len: examples.seq_len() + 1,
                tokens: examples.stats().tokens,
                validation: n_validation.min(n),
                train: n_train,
                batch_size,
                needed: examples_needed(batch_size, validation_per_mille),
            });
        }
        let split_key = Key(key.word(0, 0, SPLIT_STREAM));
        let order = split_key.permutation(n_u32, 0);
        let mut validation = order[..n_validation].to_vec();
        let mut train = order[n_validation..].to_vec();
        validation.sort_unstable();
        train.sort_unstable();
        Ok(Self {
            examples,
            key,
            batch_size,
            validation_per_mille,
            train,
            validation,
        })
    }

    /// The batch of training step `step`.
    pub fn batch(&self, step: u32) -> Batch {
        let n = self.train.len() as u64;
        let start = u64::from(step) * self.batch_size as u64;
        let mut epoch_order: Option<(u32, Vec<u32>)> = None;
        let mut ids = Vec::with_capacity(self.batch_size);
        for position in start..start + self.batch_size as u64 {
            // position < (step + 1) × batch_size ≤ (u32::MAX + 1) × n_train, so the epoch fits u32.
            let epoch =
                u32::try_from(position / n).expect("n_train >= batch_size bounds the epoch");
            let order = match &epoch_order {
                Some((e, order)) if *e == epoch => order,
                _ => {
                    &epoch_order
                        .insert((epoch, self.key.permutation(n as u32, epoch)))
                        .1
                }
            };
            ids.push(self.train[order[(position % n) as usize] as usize]);
        }
        self.gather(ids)
    }

    /// Number of validation batches (the last one may hold fewer than `batch_size` rows).
    pub fn validation_batch_count(&self) -> usize {
        self.validation.len().div_ceil(self.batch_size)
    }

    /// Validation batch `i`, or `None` past the last.
    pub fn validation_batch(&self, i: usize) -> Option<Batch> {
        let ids = self.validation.chunks(self.batch_size).nth(i)?;
        Some(self.gather(ids.to_vec()))
    }

    /// All validation batches, in order.
    pub fn validation_batches(&self) -> impl Iterator<Item = Batch> + '_ {
        self.validation
            .chunks(self.batch_size)
            .map(|ids| self.gather(ids.to_vec()))
    }

    /// Indices of the training examples, ascending.
    pub fn train_examples(&self) -> &[u32] {
        &self.train
    }

    /// Indices of the validation examples, ascending.
    pub fn validation_examples(&self) -> &[u32] {
        &self.validation
    }

    /// All examples, before the split.
    pub fn examples(&self) -> &Examples {
        &self.examples
    }

    /// Examples per training step.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// What the dataset holds and what a run of `steps` steps makes of it.
    pub fn summary(&self, steps: u32) -> DatasetSummary {
        let stats = *self.examples.stats();
        let stream = u64::from(steps) * self.batch_size as u64;
        DatasetSummary {
            kind: stats.kind,
            documents: stats.documents,
            seq_len: self.examples.seq_len(),
            batch_size: self.batch_size,
            validation_per_mille: self.validation_per_mille,
            examples: self.examples.len(),
            train_examples: self.train.len(),
            validation_examples: self.validation.len(),
            tokens: stats.tokens,
            dropped_tokens: stats.dropped_tokens,
            truncated_examples: stats.truncated_examples,
            padding_tokens: stats.padding_tokens,
            loss_tokens: stats.loss_tokens,
            steps,
            epochs: stream.div_ceil(self.train.len() as u64),
        }
    }

    fn gather(&self, ids: Vec<u32>) -> Batch {
        let seq_len = self.examples.seq_len();
        let mut tokens = Vec::with_capacity(ids.len() * (seq_len + 1));
        let mut loss_mask = Vec::with_capacity(ids.len() * seq_len);
        for &id in &ids {
            let example = self
                .examples
                .get(id as usize)
                .expect("split indices are in range");
            tokens.extend_from_slice(example.tokens);
            loss_mask.extend_from_slice(example.loss_mask);
        }
        Batch {
            seq_len,
            examples: ids,
            tokens,
            loss_mask,
        }
    }
}

/// Validation examples out of `n`: the fraction rounded down, at least one.
fn validation_count(n: usize, per_mille: u32) -> usize {
    let share = (n as u128 * u128::from(per_mille) / 1000) as usize;
    share.max(1)
}

/// The fewest examples that leave `batch_size` for training after the validation share.
fn examples_needed(batch_size: usize, per_mille: u32) -> usize {
    let mut n = batch_size + 1;
    while n - validation_count(n, per_mille) < batch_size {
        n += 1;
    }
    n
}
