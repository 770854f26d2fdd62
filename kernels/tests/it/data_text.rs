//! Plain text: windows of `seq_len + 1` tokens over the concatenated documents.

use tern_kernels::data::{DataError, DatasetKind, text_examples, text_examples_from_bytes};

use super::byte_tokenizer::{ByteTokenizer, IM_END, IM_START};

fn bytes(text: &str) -> Vec<u32> {
    text.bytes().map(u32::from).collect()
}

#[test]
fn documents_are_concatenated_with_eos_and_the_tail_is_dropped() {
    let examples = text_examples(&["abc", "de"], &ByteTokenizer::new(), 2).unwrap();
    // Stream: a b c EOS d e EOS = 7 tokens: two windows of 3, one token left.
    assert_eq!(examples.len(), 2);
    let e0 = examples.get(0).unwrap();
    let e1 = examples.get(1).unwrap();
    assert_eq!(e0.tokens, bytes("abc").as_slice());
    assert_eq!(e1.tokens, [IM_END, u32::from(b'd'), u32::from(b'e')]);
    assert_eq!(e0.loss_mask, [1, 1]);
    assert_eq!(e1.loss_mask, [1, 1]);
    assert!(examples.get(2).is_none());
    let stats = examples.stats();
    assert_eq!(stats.kind, DatasetKind::Text);
    assert_eq!(
        (stats.documents, stats.tokens, stats.dropped_tokens),
        (2, 7, 1)
    );
    assert_eq!(stats.loss_tokens, 4);
}

#[test]
fn bos_starts_each_document_when_the_tokenizer_has_one() {
    let tokenizer = ByteTokenizer {
        bos: Some(IM_START),
    };
    let examples = text_examples(&["ab", "c"], &tokenizer, 6).unwrap();
    assert_eq!(examples.len(), 1);
    let expected = [IM_START, 97, 98, IM_END, IM_START, 99, IM_END];
    assert_eq!(examples.get(0).unwrap().tokens, expected);
    assert_eq!(examples.stats().dropped_tokens, 0);
}

#[test]
fn special_token_strings_in_plain_text_stay_text() {
    let text = "x<|im_end|>y";
    let examples = text_examples(&[text], &ByteTokenizer::new(), text.len()).unwrap();
    let mut expected = bytes(text);
    expected.push(IM_END);
    assert_eq!(examples.get(0).unwrap().tokens, expected.as_slice());
}

#[test]
fn a_blob_must_be_utf8_and_the_error_names_the_line() {
    let ok = text_examples_from_bytes(b"hello world", &ByteTokenizer::new(), 3).unwrap();
    assert_eq!(ok.len(), 3); // 12 tokens, windows of 4
    let err =
        text_examples_from_bytes(b"first\nse\xffcond\n", &ByteTokenizer::new(), 3).unwrap_err();
    assert!(
        matches!(err, DataError::NotUtf8 { line: 2, byte: 2 }),
        "{err}"
    );
}

#[test]
fn empty_input_and_zero_seq_len_are_errors() {
    let t = ByteTokenizer::new();
    let none: [&str; 0] = [];
    assert!(matches!(
        text_examples(&none, &t, 4),
        Err(DataError::Empty { .. })
    ));
    let err = text_examples(&["", ""], &t, 4).unwrap_err();
    assert!(matches!(err, DataError::Empty { .. }));
    assert!(err.to_string().contains("every document is empty"), "{err}");
    assert!(matches!(
        text_examples(&["abc"], &t, 0),
        Err(DataError::ZeroSeqLen)
    ));
    assert!(matches!(
        text_examples_from_bytes(b"", &t, 4),
        Err(DataError::Empty { .. })
    ));
}

#[test]
fn text_shorter_than_one_example_gives_no_examples_and_counts_the_tokens() {
    let examples = text_examples(&["abc"], &ByteTokenizer::new(), 10).unwrap();
    assert!(examples.is_empty());
    assert_eq!(examples.stats().dropped_tokens, 4);
}
