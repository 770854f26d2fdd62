//! What can go wrong while turning a dataset into batches.

use std::path::PathBuf;

/// An error from reading, tokenizing, splitting or batching a dataset.
///
/// Every message says what was wrong and what to do; chat errors carry the 1-based line of the JSONL file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The sequence length is zero.
    #[error(
        "seq_len is 0: a training example needs at least one input and one target token; use a positive seq_len"
    )]
    ZeroSeqLen,
    /// The batch size is zero.
    #[error("batch size is 0: use a positive batch size")]
    ZeroBatchSize,
    /// The validation fraction is not below one.
    #[error(
        "validation fraction {per_mille}/1000 leaves nothing for training: use a value below 1000 (the default is 50)"
    )]
    ValidationFraction {
        /// The fraction asked for, in thousandths.
        per_mille: u32,
    },
    /// The input holds no text at all.
    #[error(
        "the dataset is empty ({what}): give it at least one non-empty document or conversation"
    )]
    Empty {
        /// What was empty (documents, the JSONL file, a directory).
        what: String,
    },
    /// After the split, training has fewer examples than one batch, or there is no validation example.
    #[error(
        "the dataset has {examples} examples of seq_len + 1 = {example_len} tokens ({tokens} tokens in all): \
         {validation} for validation leaves {train} for training, but one batch of {batch_size} plus validation \
         needs at least {needed} examples; add data, or lower seq_len or the batch size"
    )]
    TooFewExamples {
        /// Examples the dataset holds.
        examples: usize,
        /// Tokens per example (`seq_len + 1`).
        example_len: usize,
        /// Tokens the input produced.
        tokens: u64,
        /// Examples the split gives to validation.
        validation: usize,
        /// Examples left for training.
        train: usize,
        /// The batch size.
        batch_size: usize,
        /// The fewest examples that would do.
        needed: usize,
    },
    /// More examples than batch order can index.
    #[error(
        "the dataset has {examples} examples, more than the {max} batch order can index: raise seq_len or split the data"
    )]
    TooManyExamples {
        /// Examples the dataset holds.
        examples: usize,
        /// The most allowed.
        max: u64,
    },
    /// A JSONL line is not valid UTF-8.
    #[error("line {line}: not valid UTF-8 (byte {byte} of the line); save the file as UTF-8")]
    NotUtf8 {
        /// 1-based line number.
        line: usize,
        /// 0-based offset of the first invalid byte within the line.
        byte: usize,
    },
    /// A JSONL line is not valid JSON.
    #[error("line {line}: invalid JSON ({reason}); each line must be one JSON object")]
    InvalidJson {
        /// 1-based line number.
        line: usize,
        /// What the JSON parser reported.
        reason: String,
    },
    /// A JSONL line has no `messages` array, or an empty one.
    #[error(
        "line {line}: {problem}; each line must look like {{\"messages\": [{{\"role\": \"user\", \"content\": \"...\"}}, ...]}}"
    )]
    MissingMessages {
        /// 1-based line number.
        line: usize,
        /// What was found instead.
        problem: String,
    },
    /// A message is not an object with string `role` and `content`.
    #[error(
        "line {line}, message {message}: {problem}; a message is {{\"role\": \"...\", \"content\": \"...\"}}"
    )]
    InvalidMessage {
        /// 1-based line number.
        line: usize,
        /// 0-based index of the message in the conversation.
        message: usize,
        /// What was wrong.
        problem: String,
    },
    /// A message has a role other than system, user or assistant.
    #[error(
        "line {line}, message {message}: unknown role {role:?}; use \"system\", \"user\" or \"assistant\""
    )]
    UnknownRole {
        /// 1-based line number.
        line: usize,
        /// 0-based index of the message in the conversation.
        message: usize,
        /// The role found.
        role: String,
    },
    /// A user or assistant message has empty (or all-whitespace) content.
    #[error(
        "line {line}, message {message}: empty {role} content; remove the message or give it text"
    )]
    EmptyContent {
        /// 1-based line number.
        line: usize,
        /// 0-based index of the message in the conversation.
        message: usize,
        /// The message's role.
        role: &'static str,
    },
    /// A conversation has no assistant message, so nothing in it would be trained on.
    #[error(
        "line {line}: no assistant message, so the conversation has nothing to learn; add an assistant reply"
    )]
    NoAssistantTurn {
        /// 1-based line number.
        line: usize,
    },
    /// Truncation to `seq_len + 1` tokens removed every assistant token.
    #[error(
        "line {line}: the conversation is {tokens} tokens long and its first assistant token is at position \
         {first_loss}, past seq_len + 1 = {example_len}; raise seq_len or shorten the conversation"
    )]
    NoLossAfterTruncation {
        /// 1-based line number.
        line: usize,
        /// Tokens of the whole conversation.
        tokens: usize,
        /// Position of the first assistant token.
        first_loss: usize,
        /// Tokens per example (`seq_len + 1`).
        example_len: usize,
    },
    /// The chat template does not parse.
    #[error(
        "the chat template does not parse: {0}; check the template string (tokenizer.chat_template)"
    )]
    TemplateSyntax(String),
    /// Rendering the chat template failed (it raised an exception or used something undefined).
    #[error("line {line}: the chat template failed to render the conversation: {reason}")]
    TemplateRender {
        /// 1-based line number.
        line: usize,
        /// What the template engine reported.
        reason: String,
    },
    /// The template does not render a conversation as its previous turns plus new text, so turns cannot be
    /// told apart.
    #[error(
        "line {line}, message {message}: rendering the conversation up to this message does not extend the \
         rendering up to the message before; Tern needs a template whose output grows turn by turn"
    )]
    TemplateNotIncremental {
        /// 1-based line number.
        line: usize,
        /// 0-based index of the message.
        message: usize,
    },
    /// The template's output for a message does not contain the message's content (or its trimmed form).
    #[error(
        "line {line}, message {message}: the chat template's output for this message does not contain its \
         content, so the loss span cannot be found; use a template that writes content verbatim or trimmed"
    )]
    ContentNotRendered {
        /// 1-based line number.
        line: usize,
        /// 0-based index of the message.
        message: usize,
    },
    /// A file of a text corpus could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file of a text corpus is not UTF-8.
    #[error("{path} is not valid UTF-8 (byte {byte}); convert it to UTF-8")]
    FileNotUtf8 {
        /// The file.
        path: PathBuf,
        /// Offset of the first invalid byte.
        byte: usize,
    },
}
