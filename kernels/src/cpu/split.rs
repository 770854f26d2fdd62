//! How an `m × n` output is divided among threads.
//!
//! Each output element is computed whole by one thread, so the split changes only who computes what, never a
//! value. Rows are split when there are enough of them: each thread then reads all the weights once per block
//! of [`ROWS_PER_BLOCK`] rows. When the weights are large and the row bands would be shorter than a block (the
//! LM head: 256 rows on 16 threads), every thread would stream every weight; splitting the output columns
//! (panels) instead gives each thread its own slice of the weights. Few rows also call for a panel split.

use super::activations::ROWS_PER_BLOCK;
use crate::tensor::layout::PANEL_ROWS;
use std::ops::Range;

/// Multiply-accumulates below which an extra thread costs more to start than it saves.
const MIN_WORK_PER_THREAD: usize = 1 << 18;

/// Rows a thread should get at least when splitting by rows, so each keeps a full register tile busy.
const MIN_ROWS_PER_THREAD: usize = 8;

/// Packed weights above this size are not expected to stay in one core's L2 cache.
const CACHED_WEIGHT_BYTES: usize = 1 << 20;

/// A rectangle of the output: rows `rows` and the columns of panels `panels` (clipped to `n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tile {
    /// Output rows.
    pub rows: Range<usize>,
    /// Output panels (16 columns each).
    pub panels: Range<usize>,
}

impl Tile {
    /// Output columns covered, clipped to `n`.
    pub fn cols(&self, n: usize) -> Range<usize> {
        self.panels.start * PANEL_ROWS..(self.panels.end * PANEL_ROWS).min(n)
    }
}

/// The plan for one op: either row bands (written in place) or panel bands (through scratch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Split {
    /// One thread, whole output.
    Single,
    /// One band of rows per thread, all panels.
    Rows(Vec<Range<usize>>),
    /// One band of panels per thread, all rows.
    Panels(Vec<Range<usize>>),
}

/// Splits an `m × n × k` product with `weight_bytes` of packed weights over at most `threads` threads.
pub(crate) fn plan(m: usize, n: usize, k: usize, threads: usize, weight_bytes: usize) -> Split {
    let work = m.saturating_mul(n).saturating_mul(k);
    let threads = threads.min(work / MIN_WORK_PER_THREAD).max(1);
    if threads == 1 {
        return Split::Single;
    }
    let panels = n.div_ceil(PANEL_ROWS);
    let enough_rows = m >= threads * MIN_ROWS_PER_THREAD;
    let streams_weights =
        m < threads * ROWS_PER_BLOCK && weight_bytes > CACHED_WEIGHT_BYTES && panels >= threads * 4;
    if enough_rows && !streams_weights {
        return Split::Rows(bands(m, threads));
    }
    match threads.min(panels) {
        1 if enough_rows => Split::Rows(bands(m, threads)),
        1 => Split::Single,
        threads => Split::Panels(bands(panels, threads)),
    }
}

/// `len` items cut into `parts` contiguous bands whose sizes differ by at most one.
fn bands(len: usize, parts: usize) -> Vec<Range<usize>> {
    (0..parts)
        .map(|p| p * len / parts..(p + 1) * len / parts)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_cover_everything_once() {
        for (len, parts) in [(10, 3), (1024, 16), (7, 7), (100, 1)] {
            let b = bands(len, parts);
            assert_eq!(b.len(), parts);
            assert_eq!(b[0].start, 0);
            assert_eq!(b[parts - 1].end, len);
            assert!(b.windows(2).all(|w| w[0].end == w[1].start));
        }
    }

    #[test]
    fn plans_fit_the_shape() {
        let lm_head_bytes = 49152 * 576 / 4;
        assert_eq!(plan(1, 7, 3, 8, 64), Split::Single);
        assert!(matches!(plan(1024, 576, 576, 8, 82_944), Split::Rows(r) if r.len() == 8));
        assert!(matches!(plan(2, 49152, 576, 8, lm_head_bytes), Split::Panels(p) if p.len() == 8));
        // The LM head on 16 threads: 16-row bands would each stream all 7 MB of weights.
        assert!(
            matches!(plan(256, 49152, 576, 16, lm_head_bytes), Split::Panels(p) if p.len() == 16)
        );
        assert!(matches!(plan(256, 49152, 576, 2, lm_head_bytes), Split::Rows(r) if r.len() == 2));
        // One panel, many rows.
        assert!(matches!(plan(4096, 7, 576, 4, 2304), Split::Rows(r) if r.len() == 4));
    }
}
