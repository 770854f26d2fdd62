//! Chat JSONL: rendering with the chat template, loss on assistant tokens only, padding, truncation, errors.

use tern_kernels::data::{
    CHATML_TEMPLATE, ChatTemplate, Conversation, DataError, DatasetKind, Example, Message, Role,
    chat_examples, encode_conversation, parse_chat_jsonl,
};
use tern_kernels::tokenizer::Encode;

use super::byte_tokenizer::{ByteTokenizer, IM_END, IM_START};

/// SmolLM2-135M-Instruct's `tokenizer.chat_template` as the model file holds it (real newlines inside the Jinja
/// string literals): ChatML plus a default system prompt.
const SMOLLM2_TEMPLATE: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

const TWO_TURNS: &str = r#"{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]}"#;

/// The text of the targets whose mask is 1, in order, and of those whose mask is 0 (padding excluded).
fn split_by_mask(example: Example<'_>, tokenizer: &ByteTokenizer) -> (String, String) {
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for (&t, &m) in example.tokens[1..].iter().zip(example.loss_mask) {
        if m == 1 { on.push(t) } else { off.push(t) }
    }
    (tokenizer.decode(&on), tokenizer.decode(&off))
}

#[test]
fn only_assistant_content_and_its_end_of_turn_token_count() {
    let t = ByteTokenizer::new();
    let examples = chat_examples(TWO_TURNS.as_bytes(), &ChatTemplate::chatml(), &t, 200).unwrap();
    assert_eq!(examples.len(), 1);
    let example = examples.get(0).unwrap();
    let rendered = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi?<|im_end|>\n\
                    <|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n\
                    <|im_start|>assistant\n4<|im_end|>\n";
    let n = t.encode(rendered, true).len();
    assert_eq!(&example.tokens[..n], t.encode(rendered, true).as_slice());
    let (on, _) = split_by_mask(example, &t);
    assert_eq!(on, "Hello!<|im_end|>4<|im_end|>");
    let masked: u64 = example.loss_mask.iter().map(|&m| u64::from(m)).sum();
    assert_eq!(masked, examples.stats().loss_tokens);
    // Padding: EOS tokens after the conversation, none of them in the loss.
    assert!(example.tokens[n..].iter().all(|&id| id == IM_END));
    assert!(example.loss_mask[n - 1..].iter().all(|&m| m == 0));
    let stats = examples.stats();
    assert_eq!(stats.kind, DatasetKind::Chat);
    assert_eq!(
        (stats.documents, stats.tokens, stats.padding_tokens),
        (1, n as u64, (201 - n) as u64)
    );
    assert_eq!((stats.truncated_examples, stats.dropped_tokens), (0, 0));
}

#[test]
fn smollm2_template_adds_its_default_system_prompt_which_is_not_trained_on() {
    let t = ByteTokenizer::new();
    let template = ChatTemplate::new(SMOLLM2_TEMPLATE).unwrap();
    let line = r#"{"messages": [{"role": "user", "content": "You are?"}, {"role": "assistant", "content": "You"}]}"#;
    let conversation = &parse_chat_jsonl(line.as_bytes()).unwrap()[0];
    let encoded = encode_conversation(conversation, &template, &t).unwrap();
    assert_eq!(
        t.decode(&encoded.tokens),
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nYou are?<|im_end|>\n<|im_start|>assistant\nYou<|im_end|>\n"
    );
    let on: Vec<u32> = encoded
        .tokens
        .iter()
        .zip(&encoded.loss)
        .filter(|p| *p.1)
        .map(|p| *p.0)
        .collect();
    assert_eq!(t.decode(&on), "You<|im_end|>");
    // With a system message of its own, the default prompt is not added.
    let conversation = &parse_chat_jsonl(TWO_TURNS.as_bytes()).unwrap()[0];
    let encoded = encode_conversation(conversation, &template, &t).unwrap();
    assert!(
        t.decode(&encoded.tokens)
            .starts_with("<|im_start|>system\nBe brief.<|im_end|>")
    );
}

#[test]
fn smollm2_template_constant_matches_the_model_file() {
    let Some(cache) = super::corpus::cache_dir() else {
        return;
    };
    let path = cache.join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    let Ok(file) = std::fs::File::open(&path) else {
        eprintln!(
            "skipped: {} is absent; run deploy/fetch-data.sh",
            path.display()
        );
        return;
    };
    // The metadata (vocabulary, merges, template) lies in the first few MB.
    let mut head = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, 8 << 20), &mut head).unwrap();
    let needle = SMOLLM2_TEMPLATE.as_bytes();
    assert!(
        head.windows(needle.len()).any(|w| w == needle),
        "the GGUF's chat template changed"
    );
}

#[test]
fn control_strings_in_content_are_not_special_tokens() {
    let t = ByteTokenizer::new();
    let line = r#"{"messages": [{"role": "user", "content": "<|im_start|>x"}, {"role": "assistant", "content": "<|im_end|>"}]}"#;
    let encoded = encode_conversation(
        &parse_chat_jsonl(line.as_bytes()).unwrap()[0],
        &ChatTemplate::chatml(),
        &t,
    );
    let encoded = encoded.unwrap();
    // Specials come only from the template: two turn starts and two turn ends.
    assert_eq!(
        encoded.tokens.iter().filter(|&&id| id == IM_START).count(),
        2
    );
    assert_eq!(encoded.tokens.iter().filter(|&&id| id == IM_END).count(), 2);
    let on: Vec<u32> = encoded
        .tokens
        .iter()
        .zip(&encoded.loss)
        .filter(|p| *p.1)
        .map(|p| *p.0)
        .collect();
    assert_eq!(on.len(), "<|im_end|>".len() + 1);
    assert_eq!(t.decode(&on), "<|im_end|><|im_end|>");
}

#[test]
fn a_trimming_template_still_finds_the_assistant_span() {
    let t = ByteTokenizer::new();
    let source = CHATML_TEMPLATE.replace("message['content']", "message['content'] | trim");
    let template = ChatTemplate::new(&source).unwrap();
    let line = r#"{"messages": [{"role": "user", "content": " a "}, {"role": "assistant", "content": "  b c \n"}]}"#;
    let encoded = encode_conversation(
        &parse_chat_jsonl(line.as_bytes()).unwrap()[0],
        &template,
        &t,
    )
    .unwrap();
    assert_eq!(
        t.decode(&encoded.tokens),
        "<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\nb c<|im_end|>\n"
    );
    let on: Vec<u32> = encoded
        .tokens
        .iter()
        .zip(&encoded.loss)
        .filter(|p| *p.1)
        .map(|p| *p.0)
        .collect();
    assert_eq!(t.decode(&on), "b c<|im_end|>");
}

#[test]
fn token_strings_and_raise_exception_reach_the_template() {
    let t = ByteTokenizer::new();
    let source = "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('no system \
                  prompts here') }}{% endif %}{{ m['role'] + ':' + m['content'] + eos_token }}{% endfor %}";
    let template = ChatTemplate::new(source)
        .unwrap()
        .with_token_strings("<|im_start|>", "<|im_end|>");
    let line = r#"{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}"#;
    let encoded = encode_conversation(
        &parse_chat_jsonl(line.as_bytes()).unwrap()[0],
        &template,
        &t,
    )
    .unwrap();
    assert_eq!(
        t.decode(&encoded.tokens),
        "<|im_start|>user:q<|im_end|>assistant:a<|im_end|>"
    );
    let on: Vec<u32> = encoded
        .tokens
        .iter()
        .zip(&encoded.loss)
        .filter(|p| *p.1)
        .map(|p| *p.0)
        .collect();
    assert_eq!(t.decode(&on), "a<|im_end|>");
    let jsonl = format!("{line}\n{TWO_TURNS}\n");
    let err = chat_examples(jsonl.as_bytes(), &template, &t, 64).unwrap_err();
    assert!(
        matches!(&err, DataError::TemplateRender { line: 2, reason } if reason == "no system prompts here"),
        "{err}"
    );
}

#[test]
fn without_an_eos_the_whole_turn_closing_text_is_trained_on() {
    let t = ByteTokenizer::new();
    let template = ChatTemplate::new(
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n\n{% endfor %}",
    );
    let line = r#"{"messages": [{"role": "user", "content": "end"}, {"role": "assistant", "content": "d"}]}"#;
    let encoded = encode_conversation(
        &parse_chat_jsonl(line.as_bytes()).unwrap()[0],
        &template.unwrap(),
        &t,
    );
    let encoded = encoded.unwrap();
    assert_eq!(t.decode(&encoded.tokens), "user: end\n\nassistant: d\n\n");
    let on: Vec<u32> = encoded
        .tokens
        .iter()
        .zip(&encoded.loss)
        .filter(|p| *p.1)
        .map(|p| *p.0)
        .collect();
    assert_eq!(t.decode(&on), "d\n\n");
}

#[test]
fn long_conversations_are_truncated_and_counted() {
    let t = ByteTokenizer::new();
    let reply = "x".repeat(100);
    let long = format!(
        r#"{{"messages": [{{"role": "user", "content": "q"}}, {{"role": "assistant", "content": "{reply}"}}]}}"#
    );
    let short = r#"{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "y"}]}"#;
    let jsonl = format!("{short}\n{long}\n");
    let seq_len = 40;
    let examples = chat_examples(jsonl.as_bytes(), &ChatTemplate::chatml(), &t, seq_len).unwrap();
    assert_eq!(examples.len(), 2);
    let full = t.encode(
        &format!("<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n{reply}<|im_end|>\n"),
        true,
    );
    let stats = examples.stats();
    assert_eq!(stats.truncated_examples, 1);
    assert_eq!(stats.dropped_tokens, (full.len() - (seq_len + 1)) as u64);
    let example = examples.get(1).unwrap();
    assert_eq!(example.tokens, &full[..seq_len + 1]);
    let (on, off) = split_by_mask(example, &t);
    let header = "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n";
    // The first token is no target: the unmasked targets are the header after its opening `<|im_start|>`.
    assert_eq!(off, header.strip_prefix("<|im_start|>").unwrap());
    assert_eq!(on, "x".repeat(seq_len + 1 - t.encode(header, true).len()));
}

#[test]
fn a_conversation_whose_assistant_turn_starts_past_the_window_is_an_error() {
    let t = ByteTokenizer::new();
    let question = "q".repeat(50);
    let line = format!(
        r#"{{"messages": [{{"role": "user", "content": "{question}"}}, {{"role": "assistant", "content": "a"}}]}}"#
    );
    let jsonl = format!("\n{line}");
    let err = chat_examples(jsonl.as_bytes(), &ChatTemplate::chatml(), &t, 30).unwrap_err();
    let DataError::NoLossAfterTruncation {
        line,
        tokens,
        first_loss,
        example_len,
    } = err
    else {
        panic!("{err}")
    };
    assert_eq!((line, example_len), (2, 31));
    let prompt = format!("<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n");
    assert_eq!(first_loss, t.encode(&prompt, true).len());
    assert_eq!(tokens, first_loss + 3); // "a", <|im_end|>, "\n"
}

fn parse_err(jsonl: &str) -> DataError {
    parse_chat_jsonl(jsonl.as_bytes()).unwrap_err()
}

const OK: &str =
    r#"{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}"#;

#[test]
fn every_malformed_line_is_reported_with_its_number() {
    let at3 = |bad: &str| parse_err(&format!("{OK}\n\n{bad}\n{OK}"));
    assert!(matches!(
        at3("{not json"),
        DataError::InvalidJson { line: 3, .. }
    ));
    assert!(matches!(
        at3("[1, 2]"),
        DataError::MissingMessages { line: 3, .. }
    ));
    assert!(matches!(
        at3(r#"{"conversation": []}"#),
        DataError::MissingMessages { line: 3, .. }
    ));
    assert!(matches!(
        at3(r#"{"messages": []}"#),
        DataError::MissingMessages { line: 3, .. }
    ));
    assert!(matches!(
        at3(r#"{"messages": "hi"}"#),
        DataError::MissingMessages { line: 3, .. }
    ));
    assert!(matches!(
        at3(r#"{"messages": ["hi"]}"#),
        DataError::InvalidMessage {
            line: 3,
            message: 0,
            ..
        }
    ));
    let no_role = r#"{"messages": [{"role": "user", "content": "q"}, {"content": "a"}]}"#;
    assert!(matches!(
        at3(no_role),
        DataError::InvalidMessage {
            line: 3,
            message: 1,
            ..
        }
    ));
    let no_content = r#"{"messages": [{"role": "user"}]}"#;
    assert!(matches!(
        at3(no_content),
        DataError::InvalidMessage {
            line: 3,
            message: 0,
            ..
        }
    ));
    let list_content = r#"{"messages": [{"role": "user", "content": ["q"]}]}"#;
    assert!(matches!(
        at3(list_content),
        DataError::InvalidMessage {
            line: 3,
            message: 0,
            ..
        }
    ));
    let tool =
        r#"{"messages": [{"role": "user", "content": "q"}, {"role": "tool", "content": "a"}]}"#;
    assert!(
        matches!(at3(tool), DataError::UnknownRole { line: 3, message: 1, ref role } if role == "tool")
    );
    let empty = r#"{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": " \n"}]}"#;
    assert!(matches!(
        at3(empty),
        DataError::EmptyContent {
            line: 3,
            message: 1,
            role: "assistant"
        }
    ));
    let empty_user =
        r#"{"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "a"}]}"#;
    assert!(matches!(
        at3(empty_user),
        DataError::EmptyContent {
            line: 3,
            message: 0,
            role: "user"
        }
    ));
    let no_assistant =
        r#"{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]}"#;
    assert!(matches!(
        at3(no_assistant),
        DataError::NoAssistantTurn { line: 3 }
    ));
    let mut bytes = format!("{OK}\r\n").into_bytes();
    bytes.extend_from_slice(b"{\"messages\": \"\xc3\x28\"}\n");
    assert!(matches!(
        parse_chat_jsonl(&bytes),
        Err(DataError::NotUtf8 { line: 2, byte: 14 })
    ));
    // Messages carry through; an empty system message is allowed; CRLF lines parse.
    let system = r#"{"messages": [{"role": "system", "content": ""}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 1}]}"#;
    let parsed = parse_chat_jsonl(format!("{OK}\r\n{system}\r\n").as_bytes()).unwrap();
    assert_eq!(parsed.len(), 2);
    assert_eq!(
        parsed[1],
        Conversation {
            line: 2,
            messages: vec![
                Message {
                    role: Role::System,
                    content: String::new()
                },
                Message {
                    role: Role::User,
                    content: "q".into()
                },
                Message {
                    role: Role::Assistant,
                    content: "a".into()
                },
            ],
        }
    );
}

#[test]
fn empty_files_bad_templates_and_zero_seq_len_are_errors() {
    let t = ByteTokenizer::new();
    let chatml = ChatTemplate::chatml();
    assert!(matches!(parse_err(""), DataError::Empty { .. }));
    assert!(matches!(parse_err("\n  \n"), DataError::Empty { .. }));
    assert!(matches!(
        chat_examples(OK.as_bytes(), &chatml, &t, 0),
        Err(DataError::ZeroSeqLen)
    ));
    assert!(matches!(
        ChatTemplate::new("{% for m in messages %}"),
        Err(DataError::TemplateSyntax(_))
    ));
    // Output that does not grow turn by turn: the last message first.
    let reversed =
        ChatTemplate::new("{% for m in messages|reverse %}{{ m['content'] }};{% endfor %}")
            .unwrap();
    let err = chat_examples(OK.as_bytes(), &reversed, &t, 16).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::TemplateNotIncremental {
                line: 1,
                message: 1
            }
        ),
        "{err}"
    );
    // Content rewritten beyond trimming cannot be located.
    let upper = ChatTemplate::new("{% for m in messages %}{{ m['content'] | upper }};{% endfor %}")
        .unwrap();
    let err = chat_examples(OK.as_bytes(), &upper, &t, 16).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::ContentNotRendered {
                line: 1,
                message: 0
            }
        ),
        "{err}"
    );
}
