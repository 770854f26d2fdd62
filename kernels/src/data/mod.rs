//! Training datasets: plain text or chat conversations, tokenized into fixed-length examples, split into training
//! and validation, and ordered so that the batch of any step is a pure function of the data-order key and the step.
//!
//! A worker and a verifier re-running steps `j·k .. (j+1)·k` must feed the trainer the same batches; neither may
//! need to replay the steps before. So nothing here keeps state between steps: [`Dataset::batch`] derives the
//! epoch's permutation from the key (DESIGN.md §4, counter-based randomness).
//!
//! ```text
//! text documents ──text_examples──┐
//! chat JSONL ─────chat_examples───┴─> Examples ──Dataset::new(key)──> batch(step), validation_batches(), summary()
//! ```
//!
//! Both paths go through the [`Encode`](crate::tokenizer::Encode) trait, so they work with the model's BPE tokenizer
//! and with any test tokenizer.
//!
//! ```
//! use tern_kernels::data::{text_examples, Dataset, DatasetConfig};
//! use tern_kernels::rng::Key;
//! use tern_kernels::tokenizer::Encode;
//!
//! /// One token per byte, EOS = 256.
//! struct Bytes;
//! impl Encode for Bytes {
//!     fn encode(&self, text: &str, _: bool) -> Vec<u32> { text.bytes().map(u32::from).collect() }
//!     fn bos(&self) -> Option<u32> { None }
//!     fn eos(&self) -> u32 { 256 }
//! }
//!
//! let text = "It is a truth universally acknowledged. ".repeat(40);
//! let examples = text_examples(&[text], &Bytes, 15)?;
//! let dataset = Dataset::new(examples, Key(7), DatasetConfig::new(4))?;
//! let batch = dataset.batch(1000);
//! assert_eq!(batch.tokens.len(), 4 * 16);
//! assert_eq!(batch, dataset.batch(1000));
//! println!("{}", dataset.summary(2000));
//! # Ok::<(), tern_kernels::data::DataError>(())
//! ```

mod chat;
mod conversation;
mod corpus;
mod dataset;
mod error;
mod examples;
mod summary;
mod template;
mod text;

pub use chat::{EncodedConversation, chat_examples, encode_conversation};
pub use conversation::{Conversation, Message, Role, parse_chat_jsonl};
pub use corpus::{SHAKESPEARE_DIR, TextDocument, read_text_dir};
pub use dataset::{Batch, DEFAULT_VALIDATION_PER_MILLE, Dataset, DatasetConfig};
pub use error::DataError;
pub use examples::{DatasetKind, Example, ExampleStats, Examples};
pub use summary::DatasetSummary;
pub use template::{CHATML_TEMPLATE, ChatTemplate};
pub use text::{text_examples, text_examples_from_bytes};
