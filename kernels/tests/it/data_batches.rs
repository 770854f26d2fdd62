//! The split and the batch order: pure functions of the key and the step.

use std::collections::BTreeSet;

use tern_kernels::data::{DataError, Dataset, DatasetConfig, Examples, text_examples};
use tern_kernels::rng::Key;

use super::byte_tokenizer::ByteTokenizer;

const SEQ_LEN: usize = 7;

/// `n` examples of random letters (seeded), each distinct.
fn examples(n: usize) -> Examples {
    let key = Key(0x5eed);
    // One document of exactly n × 8 tokens: n × 8 − 1 letters and the EOS.
    let text: String = (0..n * (SEQ_LEN + 1) - 1)
        .map(|i| char::from(b'a' + key.below(26, i as u32, 0, 0) as u8))
        .collect();
    let examples = text_examples(&[text], &ByteTokenizer::new(), SEQ_LEN).unwrap();
    assert_eq!((examples.len(), examples.stats().dropped_tokens), (n, 0));
    examples
}

fn dataset(n: usize, key: Key, batch_size: usize) -> Dataset {
    Dataset::new(examples(n), key, DatasetConfig::new(batch_size)).unwrap()
}

/// The training stream written out epoch by epoch, for comparison with `batch`.
fn stream(dataset: &Dataset, key: Key, positions: usize) -> Vec<u32> {
    let train = dataset.train_examples();
    let mut out = Vec::new();
    for epoch in 0.. {
        for i in key.permutation(train.len() as u32, epoch) {
            if out.len() == positions {
                return out;
            }
            out.push(train[i as usize]);
        }
    }
    unreachable!()
}

#[test]
fn any_batch_equals_walking_the_stream_from_the_start() {
    let key = Key::derive(&[7; 32], "data-order", 42);
    let batch_size = 5;
    let data = dataset(203, key, batch_size); // 10 validation, 193 training: batches straddle epochs
    let steps = 200;
    let expected = stream(&data, key, steps * batch_size);
    // Late steps first: nothing depends on earlier calls.
    for step in (0..steps).rev() {
        let batch = data.batch(step as u32);
        assert_eq!(
            batch.examples,
            &expected[step * batch_size..(step + 1) * batch_size],
            "step {step}"
        );
    }
}

#[test]
fn each_epoch_holds_every_training_example_once() {
    let key = Key(99);
    let batch_size = 6;
    let data = dataset(150, key, batch_size);
    let train = data.train_examples().to_vec();
    let n_train = train.len();
    assert_eq!(n_train, 143);
    let steps = (3 * n_train).div_ceil(batch_size);
    let seen: Vec<u32> = (0..steps as u32)
        .flat_map(|s| data.batch(s).examples)
        .collect();
    for epoch in 0..3 {
        let mut ids = seen[epoch * n_train..(epoch + 1) * n_train].to_vec();
        ids.sort_unstable();
        assert_eq!(ids, train, "epoch {epoch}");
    }
    // Epochs are shuffled differently.
    assert_ne!(seen[..n_train], seen[n_train..2 * n_train]);
}

#[test]
fn batches_carry_the_examples_rows() {
    let data = dataset(40, Key(1), 4);
    let batch = data.batch(17);
    assert_eq!((batch.rows(), batch.seq_len), (4, SEQ_LEN));
    assert_eq!(
        (batch.tokens.len(), batch.loss_mask.len()),
        (4 * (SEQ_LEN + 1), 4 * SEQ_LEN)
    );
    for (row, &id) in batch.examples.iter().enumerate() {
        let example = data.examples().get(id as usize).unwrap();
        assert_eq!(batch.inputs(row), &example.tokens[..SEQ_LEN]);
        assert_eq!(batch.targets(row), &example.tokens[1..]);
        assert_eq!(batch.row_loss_mask(row), example.loss_mask);
    }
}

#[test]
fn same_key_same_batches_other_key_other_order() {
    let key = Key::derive(&[1; 32], "data-order", 5);
    let a = dataset(100, key, 8);
    let b = dataset(100, key, 8);
    for step in [0, 1, 12, 13, 1000, u32::MAX] {
        assert_eq!(a.batch(step), b.batch(step));
    }
    assert_eq!(a.validation_examples(), b.validation_examples());
    for other in [
        Key::derive(&[2; 32], "data-order", 5),
        Key::derive(&[1; 32], "data-order", 6),
    ] {
        let c = dataset(100, other, 8);
        assert_ne!(a.batch(0).examples, c.batch(0).examples);
        assert_ne!(a.validation_examples(), c.validation_examples());
    }
}

#[test]
fn validation_is_disjoint_from_training_and_batched_in_order() {
    let batch_size = 4;
    for (n, per_mille, validation) in [
        (100, 50, 5),
        (30, 50, 1),
        (1000, 100, 100),
        (9, 0, 1),
        (43, 200, 8),
    ] {
        let config = DatasetConfig {
            batch_size,
            validation_per_mille: per_mille,
        };
        let data = Dataset::new(examples(n), Key(n as u32), config).unwrap();
        let val: BTreeSet<u32> = data.validation_examples().iter().copied().collect();
        let train: BTreeSet<u32> = data.train_examples().iter().copied().collect();
        assert_eq!(val.len(), validation, "n = {n}");
        assert!(val.is_disjoint(&train));
        assert_eq!(val.len() + train.len(), n);
        for step in 0..(2 * n as u32) {
            assert!(
                data.batch(step)
                    .examples
                    .iter()
                    .all(|id| train.contains(id))
            );
        }
        let batches: Vec<_> = data.validation_batches().collect();
        assert_eq!(batches.len(), data.validation_batch_count());
        assert_eq!(batches.len(), validation.div_ceil(batch_size));
        let ids: Vec<u32> = batches.iter().flat_map(|b| b.examples.clone()).collect();
        assert_eq!(ids, data.validation_examples());
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(data.validation_batch(0).as_ref(), batches.first());
        assert!(data.validation_batch(batches.len()).is_none());
    }
}

#[test]
fn summary_counts_examples_and_epochs() {
    let data = dataset(210, Key(3), 8); // 10 validation, 200 training
    let summary = data.summary(100);
    assert_eq!(
        (
            summary.examples,
            summary.train_examples,
            summary.validation_examples
        ),
        (210, 200, 10)
    );
    assert_eq!(
        (summary.seq_len, summary.batch_size, summary.steps),
        (SEQ_LEN, 8, 100)
    );
    assert_eq!(summary.epochs, 4); // 800 positions over 200 examples
    assert_eq!(data.summary(101).epochs, 5);
    assert_eq!(summary.tokens, 210 * 8);
    assert_eq!(summary.loss_tokens, 210 * SEQ_LEN as u64);
    let text = summary.to_string();
    for figure in [
        "210 of seq_len + 1 = 8 tokens",
        "200 train",
        "10 validation",
        "100 steps x batch 8",
        "4 epoch",
    ] {
        assert!(text.contains(figure), "{figure:?} missing from:\n{text}");
    }
}

#[test]
fn too_small_datasets_and_bad_configs_are_errors() {
    let key = Key(5);
    assert!(matches!(
        Dataset::new(examples(10), key, DatasetConfig::new(0)),
        Err(DataError::ZeroBatchSize)
    ));
    let all_validation = DatasetConfig {
        batch_size: 1,
        validation_per_mille: 1000,
    };
    assert!(matches!(
        Dataset::new(examples(10), key, all_validation),
        Err(DataError::ValidationFraction { per_mille: 1000 })
    ));
    // 8 examples, 1 held out: 7 left for a batch of 8; 9 are needed.
    let err = Dataset::new(examples(8), key, DatasetConfig::new(8)).unwrap_err();
    let DataError::TooFewExamples {
        examples: 8,
        validation: 1,
        train: 7,
        batch_size: 8,
        needed: 9,
        ..
    } = err
    else {
        panic!("{err}")
    };
    let message = err.to_string();
    for part in [
        "8 examples",
        "leaves 7 for training",
        "at least 9",
        "lower seq_len",
    ] {
        assert!(message.contains(part), "{part:?} missing from {message}");
    }
    assert!(Dataset::new(examples(9), key, DatasetConfig::new(8)).is_ok());
    // One example cannot give both a training batch and a validation example.
    let err = Dataset::new(examples(1), key, DatasetConfig::new(1)).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::TooFewExamples {
                train: 0,
                needed: 2,
                ..
            }
        ),
        "{err}"
    );
    // No example at all.
    let none = text_examples(&["ab"], &ByteTokenizer::new(), SEQ_LEN).unwrap();
    let err = Dataset::new(none, key, DatasetConfig::new(1)).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::TooFewExamples {
                examples: 0,
                tokens: 3,
                ..
            }
        ),
        "{err}"
    );
    // At 10 % validation a batch of 20 needs 22 examples: 22 − 2 = 20, while 21 − 2 = 19.
    let config = DatasetConfig {
        batch_size: 20,
        validation_per_mille: 100,
    };
    let err = Dataset::new(examples(21), key, config).unwrap_err();
    assert!(
        matches!(err, DataError::TooFewExamples { needed: 22, .. }),
        "{err}"
    );
    assert!(Dataset::new(examples(22), key, config).is_ok());
}
