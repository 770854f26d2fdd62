//! Special tokens (`<|im_start|>`, `<|endoftext|>`, ...) found as whole strings before any splitting.

use super::TokenType;

/// A stretch of input: text still to be split and merged, or a special token already found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fragment<'t> {
    /// Plain text.
    Text(&'t str),
    /// A special token's id.
    Token(u32),
}

/// The special tokens of a vocabulary, longest text first.
#[derive(Debug, Default)]
pub(crate) struct SpecialTokens {
    /// (text, id, matched only when the caller asks for special tokens)
    tokens: Vec<(String, u32, bool)>,
}

impl SpecialTokens {
    /// Collects the control, unknown and user-defined tokens. Control and unknown tokens are recognised only when
    /// the caller asks (`parse_special`); user-defined ones (hand-added words such as runs of spaces) always are,
    /// as in the Hugging Face tokenizers these vocabularies come from.
    pub(crate) fn new(tokens: &[String], types: &[TokenType]) -> Self {
        let mut found: Vec<(String, u32, bool)> = tokens
            .iter()
            .zip(types)
            .enumerate()
            .filter(|(_, (text, _))| !text.is_empty())
            .filter_map(|(id, (text, kind))| {
                let on_request = match kind {
                    TokenType::Control | TokenType::Unknown => true,
                    TokenType::UserDefined => false,
                    _ => return None,
                };
                Some((text.clone(), u32::try_from(id).ok()?, on_request))
            })
            .collect();
        // Longer texts claim their matches before shorter ones they contain; equal lengths keep id order.
        found.sort_by_key(|(text, _, _)| std::cmp::Reverse(text.len()));
        Self { tokens: found }
    }

    /// Number of special tokens.
    pub(crate) fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Cuts `text` at every occurrence of a special token. Tokens are taken longest first, each cutting all the
    /// text fragments left by the longer ones, leftmost occurrence first.
    pub(crate) fn partition<'t>(&self, text: &'t str, parse_special: bool) -> Vec<Fragment<'t>> {
        let mut fragments = Vec::new();
        if !text.is_empty() {
            fragments.push(Fragment::Text(text));
        }
        for (special, id, on_request) in &self.tokens {
            if *on_request && !parse_special {
                continue;
            }
            let present = fragments
                .iter()
                .any(|f| matches!(f, Fragment::Text(t) if t.contains(special.as_str())));
            if !present {
                continue;
            }
            let mut next = Vec::with_capacity(fragments.len() + 2);
            for fragment in fragments {
                let Fragment::Text(t) = fragment else {
                    next.push(fragment);
                    continue;
                };
                let mut done = 0;
                for (at, _) in t.match_indices(special.as_str()) {
                    if at > done {
                        next.push(Fragment::Text(&t[done..at]));
                    }
                    next.push(Fragment::Token(*id));
                    done = at + special.len();
                }
                if done < t.len() {
                    next.push(Fragment::Text(&t[done..]));
                }
            }
            fragments = next;
        }
        fragments
    }
}

#[cfg(test)]
mod tests {
    use super::Fragment::{Text, Token};
    use super::*;

    fn specials() -> SpecialTokens {
        let tokens: Vec<String> = ["a", "<|im_start|>", "<|im_end|>", "<|im", "  "]
            .map(str::to_owned)
            .to_vec();
        let types = [
            TokenType::Normal,
            TokenType::Control,
            TokenType::Control,
            TokenType::Control,
            TokenType::UserDefined,
        ];
        SpecialTokens::new(&tokens, &types)
    }

    #[test]
    fn control_tokens_only_when_asked() {
        let s = specials();
        assert_eq!(s.len(), 4);
        assert_eq!(
            s.partition("<|im_start|>hi<|im_end|>", false),
            [Text("<|im_start|>hi<|im_end|>")]
        );
        assert_eq!(
            s.partition("<|im_start|>hi<|im_end|>", true),
            [Token(1), Text("hi"), Token(2)]
        );
    }

    #[test]
    fn user_defined_tokens_always() {
        assert_eq!(
            specials().partition("x   y", false),
            [Text("x"), Token(4), Text(" y")]
        );
    }

    #[test]
    fn longest_text_wins() {
        assert_eq!(
            specials().partition("<|im_start|><|imx", true),
            [Token(1), Token(3), Text("x")]
        );
    }

    #[test]
    fn empty_text_gives_nothing() {
        assert!(specials().partition("", true).is_empty());
    }
}
