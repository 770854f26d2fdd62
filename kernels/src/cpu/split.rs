//! How an `m × n` output is divided among threads.
//!
//! Each output element is computed whole by one thread, so the split changes only who computes what, never a
//! value. Rows are split when there are enough of them (each thread writes straight into its own rows of the
//! output); otherwise panels of 16 output columns are split and each thread fills a scratch tile that is copied
//! into place.

use crate::tensor::layout::PANEL_ROWS;
use std::ops::Range;

/// Multiply-accumulates below which an extra thread costs more to start than it saves.
const MIN_WORK_PER_THREAD: usize = 1 << 18;

/// Rows a thread should get at least when splitting by rows, so each keeps a full register tile busy.
const MIN_ROWS_PER_THREAD: usize = 8;

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

/// Splits an `m × n × k` product over at most `threads` threads.
pub(crate) fn plan(m: usize, n: usize, k: usize, threads: usize) -> Split {
    let work = m.saturating_mul(n).saturating_mul(k);
    let threads = threads.min(work / MIN_WORK_PER_THREAD).max(1);
    if threads == 1 {
        return Split::Single;
    }
    if m >= threads * MIN_ROWS_PER_THREAD {
        return Split::Rows(bands(m, threads));
    }
    let panels = n.div_ceil(PANEL_ROWS);
    let threads = threads.min(panels);
    if threads == 1 {
        Split::Single
    } else {
        Split::Panels(bands(panels, threads))
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
    fn small_products_stay_on_one_thread() {
        assert_eq!(plan(1, 7, 3, 8), Split::Single);
        assert!(matches!(plan(1024, 576, 576, 8), Split::Rows(r) if r.len() == 8));
        assert!(matches!(plan(2, 49152, 576, 8), Split::Panels(p) if p.len() == 8));
    }
}
