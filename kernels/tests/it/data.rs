//! Tests of `tern_kernels::data`: plain text, chat, split and batch order, corpora on disk.

#[path = "data_batches.rs"]
mod batches;
#[path = "data_byte_tokenizer.rs"]
mod byte_tokenizer;
#[path = "data_chat.rs"]
mod chat;
#[path = "data_corpus.rs"]
mod corpus;
#[path = "data_text.rs"]
mod text;
