//! The BPE merge loop: adjacent symbols are merged, lowest merge rank first, until no listed pair is left.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// Marks a symbol with no vocabulary entry; it merges with nothing and produces no token.
pub(crate) const NO_TOKEN: u32 = u32::MAX;

/// Index of "no neighbour" in the symbol list.
const NONE: usize = usize::MAX;

/// The merge table: for each mergeable pair of tokens, its rank (position in the file's merge list; lower merges
/// first) and the token the merge makes.
#[derive(Debug, Default)]
pub(crate) struct Merges {
    pairs: HashMap<(u32, u32), (u32, u32)>,
}

/// One symbol of the word being merged, linked to its live neighbours.
#[derive(Debug, Clone, Copy)]
struct Symbol {
    token: u32,
    prev: usize,
    next: usize,
}

/// A candidate merge of `left` with its right neighbour, valid while both still hold the tokens recorded here.
type Candidate = Reverse<(u32, usize, u32, u32)>;

impl Merges {
    /// The table for `merges` (each `"left right"`, split at the first space after the first character, as
    /// llama.cpp reads them). A merge whose parts or result are not vocabulary entries can never produce a token
    /// and is left out, as is a line with no space.
    pub(crate) fn new(merges: &[String], ids: &HashMap<String, u32>) -> Self {
        let mut pairs = HashMap::with_capacity(merges.len());
        for (rank, line) in merges.iter().enumerate() {
            let Some(split) = line
                .char_indices()
                .skip(1)
                .find(|&(_, c)| c == ' ')
                .map(|(i, _)| i)
            else {
                continue;
            };
            let (left, right) = (&line[..split], &line[split + 1..]);
            let (Some(&l), Some(&r), Some(&merged)) = (
                ids.get(left),
                ids.get(right),
                ids.get(&format!("{left}{right}")),
            ) else {
                continue;
            };
            let Ok(rank) = u32::try_from(rank) else { break };
            // The first listing of a pair is its rank, as in a map built by insertion that keeps the first entry.
            pairs.entry((l, r)).or_insert((rank, merged));
        }
        Self { pairs }
    }

    /// Number of usable merges.
    pub(crate) fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Merges `tokens` (one symbol each, initially one per byte) in place. Ties in rank go to the leftmost pair.
    pub(crate) fn apply(&self, tokens: &mut Vec<u32>) {
        if tokens.len() < 2 {
            return;
        }
        let mut symbols: Vec<Symbol> = (0..tokens.len())
            .map(|i| Symbol {
                token: tokens[i],
                prev: if i == 0 { NONE } else { i - 1 },
                next: if i + 1 == tokens.len() { NONE } else { i + 1 },
            })
            .collect();
        let mut queue: BinaryHeap<Candidate> = BinaryHeap::with_capacity(tokens.len());
        for left in 0..tokens.len() - 1 {
            self.push(&symbols, left, &mut queue);
        }
        while let Some(Reverse((_, left, left_token, right_token))) = queue.pop() {
            let right = symbols[left].next;
            // A candidate is stale once `left` has been absorbed (its links are cut) or either side has changed
            // token since it was queued; the fresh pairs were queued when that happened.
            if right == NONE
                || symbols[left].token != left_token
                || symbols[right].token != right_token
            {
                continue;
            }
            let Some(&(_, merged)) = self.pairs.get(&(left_token, right_token)) else {
                continue;
            };
            let after = symbols[right].next;
            symbols[left].token = merged;
            symbols[left].next = after;
            if after != NONE {
                symbols[after].prev = left;
            }
            symbols[right] = Symbol {
                token: NO_TOKEN,
                prev: NONE,
                next: NONE,
            };
            if symbols[left].prev != NONE {
                self.push(&symbols, symbols[left].prev, &mut queue);
            }
            self.push(&symbols, left, &mut queue);
        }
        tokens.clear();
        let mut at = 0;
        while at != NONE {
            tokens.push(symbols[at].token);
            at = symbols[at].next;
        }
    }

    /// Queues the merge of symbol `left` with its right neighbour, if that pair is in the table.
    fn push(&self, symbols: &[Symbol], left: usize, queue: &mut BinaryHeap<Candidate>) {
        let right = symbols[left].next;
        if right == NONE {
            return;
        }
        let pair = (symbols[left].token, symbols[right].token);
        if let Some(&(rank, _)) = self.pairs.get(&pair) {
            queue.push(Reverse((rank, left, pair.0, pair.1)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(vocab: &[&str], merges: &[&str]) -> (Merges, HashMap<String, u32>) {
        let ids: HashMap<String, u32> = vocab
            .iter()
            .enumerate()
            .map(|(i, t)| ((*t).to_owned(), i as u32))
            .collect();
        let merges: Vec<String> = merges.iter().map(|m| (*m).to_owned()).collect();
        (Merges::new(&merges, &ids), ids)
    }

    fn run(m: &Merges, ids: &HashMap<String, u32>, word: &str) -> Vec<u32> {
        let mut tokens: Vec<u32> = word.chars().map(|c| ids[&c.to_string()]).collect();
        m.apply(&mut tokens);
        tokens
    }

    #[test]
    fn lowest_rank_merges_first() {
        // "abc": (b,c) has rank 0 so "bc" forms first and "ab" never can.
        let (m, ids) = table(&["a", "b", "c", "ab", "bc", "abc"], &["b c", "a b", "a bc"]);
        assert_eq!(run(&m, &ids, "abc"), [ids["abc"]]);
        let (m, ids) = table(&["a", "b", "c", "ab", "bc"], &["a b", "b c"]);
        assert_eq!(run(&m, &ids, "abc"), [ids["ab"], ids["c"]]);
    }

    #[test]
    fn equal_ranks_go_to_the_leftmost_pair() {
        let (m, ids) = table(&["a", "aa", "aaaa"], &["a a", "aa aa"]);
        assert_eq!(run(&m, &ids, "aaa"), [ids["aa"], ids["a"]]);
        assert_eq!(run(&m, &ids, "aaaaa"), [ids["aaaa"], ids["a"]]);
    }

    #[test]
    fn merges_outside_the_vocabulary_are_dropped() {
        let (m, ids) = table(&["a", "b", "x"], &["a b", "nospace", "x y"]);
        assert_eq!(m.len(), 0);
        assert_eq!(run(&m, &ids, "ab"), [ids["a"], ids["b"]]);
    }

    #[test]
    fn a_space_first_is_part_of_the_left_side() {
        let (m, ids) = table(&[" ", "x", " x"], &["  x"]);
        assert_eq!(run(&m, &ids, " x"), [ids[" x"]]);
    }
}
