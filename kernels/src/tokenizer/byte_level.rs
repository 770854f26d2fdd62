//! GPT-2's reversible map between the 256 byte values and printable characters.
//!
//! Byte-level BPE vocabularies spell every token in these characters, so whitespace and control bytes never appear
//! raw in a token's text: a space is `Ġ` (U+0120), a newline `Ċ` (U+010A).

/// Bytes that stand for themselves: printable Latin-1 except the soft hyphen.
const fn is_self_mapped(byte: u8) -> bool {
    matches!(byte, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// The other 68 bytes, in increasing order; the n-th of them maps to U+0100 + n.
const REMAPPED: [u8; 68] = {
    let mut table = [0u8; 68];
    let mut n = 0;
    let mut byte = 0usize;
    while byte < 256 {
        if !is_self_mapped(byte as u8) {
            table[n] = byte as u8;
            n += 1;
        }
        byte += 1;
    }
    table
};

/// The character each byte value is spelled with.
const BYTE_TO_CHAR: [char; 256] = {
    let mut table = ['\0'; 256];
    let mut n = 0u32;
    let mut byte = 0usize;
    while byte < 256 {
        let code = if is_self_mapped(byte as u8) {
            byte as u32
        } else {
            n += 1;
            0x100 + n - 1
        };
        table[byte] = match char::from_u32(code) {
            Some(c) => c,
            None => panic!("U+0000..U+0143 are all valid characters"),
        };
        byte += 1;
    }
    table
};

/// The character that spells `byte`.
pub(crate) fn byte_char(byte: u8) -> char {
    BYTE_TO_CHAR[byte as usize]
}

/// The byte that `c` spells, or `None` when `c` is not one of the 256 byte characters.
pub(crate) fn char_byte(c: char) -> Option<u8> {
    let code = c as u32;
    if code < 0x100 && is_self_mapped(code as u8) {
        Some(code as u8)
    } else if (0x100..0x100 + REMAPPED.len() as u32).contains(&code) {
        Some(REMAPPED[(code - 0x100) as usize])
    } else {
        None
    }
}

/// `bytes` spelled in byte characters: the form vocabulary entries and merges use.
pub(crate) fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| byte_char(b)).collect()
}

/// Appends the bytes a vocabulary entry spells. A character outside the byte alphabet (only found in hand-added
/// tokens) is kept as its own UTF-8, so no text is lost.
pub(crate) fn decode_into(text: &str, out: &mut Vec<u8>) {
    for c in text.chars() {
        match char_byte(c) {
            Some(b) => out.push(b),
            None => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips_through_a_distinct_character() {
        let mut seen = std::collections::HashSet::new();
        for b in 0..=255u8 {
            let c = byte_char(b);
            assert!(seen.insert(c), "byte {b:#04x} shares character {c:?}");
            assert_eq!(char_byte(c), Some(b));
        }
    }

    #[test]
    fn known_gpt2_spellings() {
        assert_eq!(byte_char(b' '), '\u{120}');
        assert_eq!(byte_char(b'\n'), '\u{10A}');
        assert_eq!(byte_char(b'\t'), '\u{109}');
        assert_eq!(byte_char(b'A'), 'A');
        assert_eq!(byte_char(0xAD), '\u{143}');
        assert_eq!(encode("é".as_bytes()), "Ã©");
        assert_eq!(char_byte('\u{144}'), None);
        assert_eq!(char_byte('\u{FF}'), Some(0xFF));
    }

    #[test]
    fn foreign_characters_decode_as_themselves() {
        let mut out = Vec::new();
        decode_into("Ġ<|x|>€", &mut out);
        assert_eq!(out, " <|x|>€".as_bytes());
    }
}
