//! Chat datasets: each conversation rendered with the model's chat template, tokenized turn by turn, and trained
//! only on what the assistant says.

use super::{
    ChatTemplate, Conversation, DataError, DatasetKind, Examples, Message, Role, parse_chat_jsonl,
};
use crate::tokenizer::Encode;

/// Tokens of one conversation with, per token, whether it counts in the loss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedConversation {
    /// Token ids of the rendered conversation.
    pub tokens: Vec<u32>,
    /// One flag per token: true for the assistant's content and the end-of-turn token that closes it.
    pub loss: Vec<bool>,
}

/// Stands in for a message's content to find where the template writes it: private-use characters, which no
/// template tests for or rewrites.
const CONTENT_PROBE: &str = "\u{f8ff}tern-content\u{f8ff}";

/// Renders and tokenizes one conversation, marking the assistant's tokens.
///
/// How the assistant's tokens are found: the template renders the conversation prefix by prefix, `messages[..=i]`
/// for each `i`, and message `i`'s segment is what that rendering adds to the one before (a template whose output
/// does not grow turn by turn is an error). Rendering the same prefix once more with message `i`'s content replaced
/// by a probe string splits the segment into the template's text before the content, the content, and the
/// template's text after it; the segment must equal that before-text, the content (verbatim or trimmed), and the
/// after-text, else the content cannot be located and it is an error. The three pieces are tokenized separately,
/// so no token crosses a piece border: the template's text with `parse_special = true` (so `<|im_start|>` is one
/// token), the content with `parse_special = false` (so a user cannot inject control tokens). For assistant messages
/// the loss covers the content tokens and the template's text after them up to and including the first EOS token
/// ([`Encode::eos`], the end-of-turn token); when that text holds no EOS, all of it, since it is what the model must
/// emit to end its turn. Empty (system) content is all template text.
pub fn encode_conversation<T>(
    conversation: &Conversation,
    template: &ChatTemplate,
    tokenizer: &T,
) -> Result<EncodedConversation, DataError>
where
    T: Encode + ?Sized,
{
    let line = conversation.line;
    let render = |messages: &[Message]| {
        template
            .render(messages, false)
            .map_err(|reason| DataError::TemplateRender { line, reason })
    };
    let eos = tokenizer.eos();
    let mut out = EncodedConversation {
        tokens: Vec::new(),
        loss: Vec::new(),
    };
    let mut push = |tokens: Vec<u32>, loss: bool| {
        out.loss.extend(std::iter::repeat_n(loss, tokens.len()));
        out.tokens.extend(tokens);
    };
    let mut before = String::new();
    let mut probe = Vec::with_capacity(conversation.messages.len());
    for (i, message) in conversation.messages.iter().enumerate() {
        let rendered = render(&conversation.messages[..=i])?;
        let segment = rendered
            .strip_prefix(before.as_str())
            .ok_or(DataError::TemplateNotIncremental { line, message: i })?;
        let (start, len) = if message.content.is_empty() {
            (segment.len(), 0)
        } else {
            probe.clear();
            probe.extend_from_slice(&conversation.messages[..i]);
            probe.push(Message {
                role: message.role,
                content: CONTENT_PROBE.to_owned(),
            });
            let probed = render(&probe)?;
            probed
                .strip_prefix(before.as_str())
                .and_then(|probed| locate(segment, probed, &message.content))
                .ok_or(DataError::ContentNotRendered { line, message: i })?
        };
        push(tokenizer.encode(&segment[..start], true), false);
        let assistant = message.role == Role::Assistant;
        push(
            tokenizer.encode(&segment[start..start + len], false),
            assistant,
        );
        let trailer = tokenizer.encode(&segment[start + len..], true);
        if assistant {
            let end = trailer
                .iter()
                .position(|&t| t == eos)
                .map_or(trailer.len(), |p| p + 1);
            let (closing, rest) = trailer.split_at(end);
            push(closing.to_vec(), true);
            push(rest.to_vec(), false);
        } else {
            push(trailer, false);
        }
        before = rendered;
    }
    Ok(out)
}

/// Where `content` (verbatim, else trimmed) sits in `segment`, given the same segment rendered with the probe in
/// place of the content: `(start, len)`.
fn locate(segment: &str, probed: &str, content: &str) -> Option<(usize, usize)> {
    let (pre, post) = probed.split_once(CONTENT_PROBE)?;
    if post.contains(CONTENT_PROBE) {
        return None;
    }
    [content, content.trim()].into_iter().find_map(|needle| {
        let matches = segment.len() == pre.len() + needle.len() + post.len()
            && segment.starts_with(pre)
            && segment[pre.len()..].starts_with(needle)
            && segment.ends_with(post);
        matches.then_some((pre.len(), needle.len()))
    })
}

/// Parses a chat JSONL file and makes one example per conversation.
///
/// Each conversation is encoded by [`encode_conversation`]. A conversation shorter than `seq_len + 1` tokens is padded
/// with the EOS token, the padding masked out; a longer one is truncated to `seq_len + 1` tokens (counted in
/// [`ExampleStats::truncated_examples`](super::ExampleStats::truncated_examples)), and is an error when no assistant
/// token survives. Errors also: `seq_len == 0`, and every error of [`parse_chat_jsonl`] and of the template.
pub fn chat_examples<T>(
    jsonl: &[u8],
    template: &ChatTemplate,
    tokenizer: &T,
    seq_len: usize,
) -> Result<Examples, DataError>
where
    T: Encode + ?Sized,
{
    if seq_len == 0 {
        return Err(DataError::ZeroSeqLen);
    }
    let conversations = parse_chat_jsonl(jsonl)?;
    let row = seq_len + 1;
    let mut examples = Examples::new(seq_len, DatasetKind::Chat);
    let (mut tokens_total, mut dropped, mut truncated, mut padding) = (0u64, 0u64, 0usize, 0u64);
    let mut tokens = Vec::with_capacity(row);
    let mut mask = Vec::with_capacity(seq_len);
    for conversation in &conversations {
        let encoded = encode_conversation(conversation, template, tokenizer)?;
        let n = encoded.tokens.len();
        tokens_total += n as u64;
        let kept = n.min(row);
        // The first token is never a target, so its flag does not matter.
        let targets = encoded.loss.get(1..kept).unwrap_or_default();
        if !targets.contains(&true) {
            let first_loss = encoded
                .loss
                .iter()
                .skip(1)
                .position(|&l| l)
                .map_or(n, |p| p + 1);
            return Err(DataError::NoLossAfterTruncation {
                line: conversation.line,
                tokens: n,
                first_loss,
                example_len: row,
            });
        }
        if n > row {
            truncated += 1;
            dropped += (n - row) as u64;
        }
        padding += (row - kept) as u64;
        tokens.clear();
        tokens.extend_from_slice(&encoded.tokens[..kept]);
        tokens.resize(row, tokenizer.eos());
        mask.clear();
        mask.extend(targets.iter().map(|&l| u8::from(l)));
        mask.resize(seq_len, 0);
        examples.push(&tokens, &mask);
    }
    let stats = examples.stats_mut();
    stats.documents = conversations.len();
    stats.tokens = tokens_total;
    stats.dropped_tokens = dropped;
    stats.truncated_examples = truncated;
    stats.padding_tokens = padding;
    Ok(examples)
}
