//! Pre-tokenizers: the regex splits a byte-level BPE tokenizer makes before merging, chosen by the name a GGUF
//! file stores in `tokenizer.ggml.pre`.
//!
//! A pre-tokenizer is a sequence of patterns. Each pattern splits every piece the previous one left into its
//! matches and the text between them (both kept), treating each piece as a whole string, so look-aheads and `$`
//! stop at the piece's end. BPE merges never cross a piece boundary. The patterns are those of the models'
//! `tokenizer.json` files as llama.cpp lists them (with `(?i:'s|...)` spelled out case by case, which keeps
//! Unicode case folding such as `ſ` → `s` out of the contraction rule).

use fancy_regex::Regex;

use super::TokenizerError;

/// GPT-2's split: contractions, letter runs, digit runs and symbol runs (each with one optional leading space),
/// whitespace runs that leave their last space to the next word.
const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

/// Llama 3's split: as GPT-2's but digits in groups of at most three, any one non-letter before a letter run,
/// newlines kept with the whitespace before them.
const LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Qwen 2's split: Llama 3's with single digits.
const QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Qwen 3.5's split: Qwen 2's with combining marks kept inside letter runs.
const QWEN35: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Every digit on its own.
const DIGIT: &str = r"\p{N}";

/// Cased letters (Latin, Greek, Cyrillic, Armenian, Georgian, Cherokee, ... and their full-width forms) as the
/// DeepSeek LLM tokenizer lists them.
const DEEPSEEK_LLM_LETTERS: &str = "\\s?[A-Za-z\u{B5}\u{C0}-\u{D6}\u{D8}-\u{F6}\u{F8}-\u{1BA}\u{1BC}-\u{1BF}\u{1C4}-\u{293}\
\u{295}-\u{2AF}\u{370}-\u{373}\u{376}\u{377}\u{37B}-\u{37D}\u{37F}\u{386}\u{388}-\u{38A}\u{38C}\u{38E}-\u{3A1}\
\u{3A3}-\u{3F5}\u{3F7}-\u{481}\u{48A}-\u{52F}\u{531}-\u{556}\u{10A0}-\u{10C5}\u{13A0}-\u{13F5}\u{13F8}-\u{13FD}\
\u{1C90}-\u{1CBA}\u{1CBD}-\u{1CBF}\u{1D00}-\u{1D2B}\u{1D6B}-\u{1D77}\u{1D79}-\u{1D9A}\u{1E00}-\u{1F15}\
\u{1F18}-\u{1F1D}\u{1F20}-\u{1F45}\u{1F48}-\u{1F4D}\u{1F50}-\u{1F57}\u{1F59}\u{1F5B}\u{1F5D}\u{1F5F}-\u{1F7D}\
\u{1F80}-\u{1FB4}\u{1FB6}-\u{1FBC}\u{1FBE}\u{1FC2}-\u{1FC4}\u{1FC6}-\u{1FCC}\u{1FD0}-\u{1FD3}\u{1FD6}-\u{1FDB}\
\u{1FE0}-\u{1FEC}\u{1FF2}-\u{1FF4}\u{1FF6}-\u{1FFC}\u{2102}\u{2107}\u{210A}-\u{2113}\u{2115}\u{2119}-\u{211D}\
\u{2124}\u{2126}\u{2128}\u{212A}-\u{212D}\u{212F}-\u{2134}\u{2139}\u{213C}-\u{213F}\u{2145}-\u{2149}\u{214E}\
\u{2183}\u{2184}\u{2C00}-\u{2C7B}\u{2C7E}-\u{2CE4}\u{2CEB}-\u{2CEE}\u{2CF2}\u{2CF3}\u{A640}-\u{A66D}\
\u{A680}-\u{A69B}\u{A722}-\u{A76F}\u{A771}-\u{A787}\u{A78B}-\u{A78E}\u{AB70}-\u{ABBF}\u{FB00}-\u{FB06}\
\u{FB13}-\u{FB17}\u{FF21}-\u{FF3A}\u{FF41}-\u{FF5A}\u{10400}-\u{1044F}\u{104B0}-\u{104D3}\u{104D8}-\u{104FB}\
\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}\u{118A0}-\u{118DF}\u{1E900}-\u{1E943}]+";

/// CJK ideographs, everything from U+0800 up to them, and Hangul, as the DeepSeek tokenizers group them.
const DEEPSEEK_CJK: &str = "[\u{4E00}-\u{9FA5}\u{800}-\u{4E00}\u{AC00}-\u{D7FF}]+";

/// The split each supported name uses, and whether a word that is already a token skips the merges.
fn patterns(name: &str) -> Option<(&'static [&'static str], Flags)> {
    const PLAIN: Flags = Flags {
        ignore_merges: false,
        add_bos: false,
    };
    const LLAMA3_FLAGS: Flags = Flags {
        ignore_merges: true,
        add_bos: true,
    };
    Some(match name {
        "gpt-2" | "phi-2" | "mpt" | "olmo" | "jais" | "jina-es" | "jina-de" | "jina-v2-es"
        | "jina-v2-de" | "jina-v1-en" | "jina-v2-code" | "roberta-bpe" | "gigachat"
        | "trillion" | "granite-docling" | "exaone4" | "a.x-4.0" | "mellum" | "modern-bert" => {
            (&[GPT2], PLAIN)
        }
        "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone" | "minerva-7b"
        | "mellum2" => (&[DIGIT, GPT2], PLAIN),
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral" | "midm-2.0"
        | "lfm2" | "jina-v5-nano" => (&[LLAMA3], LLAMA3_FLAGS),
        "dbrx" | "smaug-bpe" | "chatglm-bpe" | "glm4" => (&[LLAMA3], PLAIN),
        "qwen2" | "deepseek-r1-qwen" | "stablelm2" | "megrez" | "hunyuan" | "kormo" | "f2llmv2"
        | "solar-open" => (&[QWEN2], PLAIN),
        "qwen35" => (&[QWEN35], PLAIN),
        "falcon" => (&[r"[\p{P}\$\+<=>\^~\|`]+", GPT2, "[0-9][0-9][0-9]"], PLAIN),
        "deepseek-coder" => (
            &["[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", DEEPSEEK_CJK, DIGIT],
            PLAIN,
        ),
        "deepseek-llm" => (
            &[
                "[\r\n]",
                DEEPSEEK_LLM_LETTERS,
                "\\s?[!-/:-~\u{FF01}-\u{FF0F}\u{FF1A}-\u{FF5E}\u{2018}-\u{201F}\u{3000}-\u{3002}]+",
                r"\s+$",
                DEEPSEEK_CJK,
                r"\p{N}+",
            ],
            PLAIN,
        ),
        "poro-chat" | "bloom" | "gpt3-finnish" => (
            &[" ?[^(\\s|.,!?\u{2026}\u{3002}\u{FF0C}\u{3001}\u{964}\u{6D4}\u{60C})]+"],
            PLAIN,
        ),
        "default" | "" => (
            &[r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", "[0-9][0-9][0-9]"],
            PLAIN,
        ),
        _ => return None,
    })
}

/// The names [`PreTokenizer::from_name`] accepts, for error messages.
const SUPPORTED: &str = "gpt-2, phi-2, mpt, olmo, jais, jina-*, roberta-bpe, gigachat, trillion, granite-docling, \
exaone, exaone4, a.x-4.0, mellum, mellum2, modern-bert, smollm, starcoder, refact, command-r, codeshell, minerva-7b, \
llama3, llama-v3, llama-bpe, falcon3, falcon-h1, pixtral, midm-2.0, lfm2, dbrx, smaug-bpe, chatglm-bpe, glm4, \
qwen2, qwen35, deepseek-r1-qwen, stablelm2, megrez, hunyuan, kormo, f2llmv2, solar-open, falcon, deepseek-coder, \
deepseek-llm, poro-chat, bloom, gpt3-finnish, default";

#[derive(Debug, Clone, Copy)]
struct Flags {
    ignore_merges: bool,
    add_bos: bool,
}

/// The word splitter of one named pre-tokenizer.
#[derive(Debug)]
pub struct PreTokenizer {
    name: String,
    patterns: Vec<Regex>,
    flags: Flags,
}

impl PreTokenizer {
    /// The pre-tokenizer a GGUF file names in `tokenizer.ggml.pre` (`""` and `"default"` give llama.cpp's
    /// fallback split for files that name none).
    pub fn from_name(name: &str) -> Result<Self, TokenizerError> {
        let Some((sources, flags)) = patterns(name) else {
            return Err(TokenizerError::UnsupportedPreTokenizer {
                name: name.to_owned(),
                supported: SUPPORTED.to_owned(),
            });
        };
        let patterns = sources
            .iter()
            .map(|source| {
                Regex::new(source).map_err(|e| TokenizerError::Pattern {
                    name: name.to_owned(),
                    pattern: (*source).to_owned(),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            name: name.to_owned(),
            patterns,
            flags,
        })
    }

    /// The name this pre-tokenizer was built from.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a word that is itself a vocabulary entry becomes that token directly, skipping the merges (Llama 3
    /// style vocabularies, whose merge lists cannot rebuild every entry).
    pub fn ignores_merges(&self) -> bool {
        self.flags.ignore_merges
    }

    /// Whether models of this family put a beginning-of-sequence token first when the file does not say.
    pub fn adds_bos_by_default(&self) -> bool {
        self.flags.add_bos
    }

    /// The words of `text`, in order; they concatenate back to `text`.
    pub fn split<'t>(&self, text: &'t str) -> Vec<&'t str> {
        let mut pieces = Vec::new();
        if !text.is_empty() {
            pieces.push(text);
        }
        for pattern in &self.patterns {
            let mut next = Vec::with_capacity(pieces.len() * 2);
            for piece in pieces {
                split_piece(pattern, piece, &mut next);
            }
            pieces = next;
        }
        pieces
    }
}

/// Appends the matches of `pattern` in `piece` and the stretches between them.
fn split_piece<'t>(pattern: &Regex, piece: &'t str, out: &mut Vec<&'t str>) {
    let mut done = 0;
    for found in pattern.find_iter(piece) {
        // The only failure is the backtracking limit, which these patterns do not reach (their look-aheads are
        // one character); should it happen, the rest of the piece stays whole rather than being lost.
        let Ok(found) = found else { break };
        if found.start() > done {
            out.push(&piece[done..found.start()]);
        }
        if found.end() > found.start() {
            out.push(found.as_str());
        }
        done = found.end();
    }
    if done < piece.len() {
        out.push(&piece[done..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(name: &str, text: &str) -> Vec<String> {
        PreTokenizer::from_name(name)
            .unwrap()
            .split(text)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_listed_pattern_compiles() {
        for name in SUPPORTED.split(", ").filter(|n| !n.ends_with('*')) {
            PreTokenizer::from_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn gpt2_keeps_one_leading_space_per_word() {
        assert_eq!(
            split("gpt-2", "Hello  world's 42!\n"),
            ["Hello", " ", " world", "'s", " 42", "!", "\n"]
        );
        assert_eq!(split("gpt-2", "   Hello"), ["  ", " Hello"]);
        assert_eq!(split("gpt-2", "\tHello"), ["\t", "Hello"]);
    }

    #[test]
    fn smollm_splits_every_digit() {
        assert_eq!(
            split("smollm", "in 2024, x12"),
            ["in", " ", "2", "0", "2", "4", ",", " x", "1", "2"]
        );
    }

    #[test]
    fn llama3_groups_digits_by_three_and_keeps_newlines_with_spaces() {
        assert_eq!(split("llama-bpe", "1234567 ab"), ["123", "456", "7", " ab"]);
        assert_eq!(split("llama-bpe", "a  \n\nb"), ["a", "  \n\n", "b"]);
        assert_eq!(split("llama-bpe", "I'VE"), ["I", "'VE"]);
    }

    #[test]
    fn pieces_concatenate_back_to_the_text() {
        let text = "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～ \n\n \t x";
        for name in [
            "gpt-2",
            "smollm",
            "llama3",
            "qwen2",
            "falcon",
            "deepseek-llm",
            "deepseek-coder",
            "default",
        ] {
            assert_eq!(split(name, text).concat(), text, "{name}");
        }
    }

    #[test]
    fn unknown_names_are_refused_with_the_list() {
        let err = PreTokenizer::from_name("no-such-pre").unwrap_err();
        assert!(
            err.to_string().contains("no-such-pre") && err.to_string().contains("smollm"),
            "{err}"
        );
    }
}
