//! The per-head row permutation between Hugging Face and GGUF llama Q/K projections.
//!
//! Hugging Face's llama rotates the two halves of each head (`x[i]` with `x[i + d/2]`); llama.cpp's "normal" RoPE,
//! which this crate's [`ops::rope`](crate::ops::rope) follows, rotates adjacent pairs (`x[2i]` with `x[2i+1]`). The
//! GGUF converter makes the two agree by reordering the output rows of Q and K: with `n` heads of `d` rows each,
//! `w.reshape(n, 2, d/2, cols).swapaxes(1, 2).reshape(rows, cols)`, so that
//! `gguf[h·d + 2i + j] = hf[h·d + j·d/2 + i]` for `i < d/2`, `j ∈ {0, 1}`. K uses the number of key/value heads.

use super::error::ExportError;

/// Checks that `values` is `rows × cols` and that `rows` splits into `n_heads` heads of even width; returns the
/// head width.
fn head_rows(
    values_len: usize,
    cols: usize,
    n_heads: usize,
) -> Result<(usize, usize), ExportError> {
    let bad = |detail: String| ExportError::Permutation { detail };
    if cols == 0 || !values_len.is_multiple_of(cols) {
        return Err(bad(format!(
            "{values_len} values are not whole rows of {cols}"
        )));
    }
    let rows = values_len / cols;
    if n_heads == 0 || !rows.is_multiple_of(n_heads) || !(rows / n_heads).is_multiple_of(2) {
        return Err(bad(format!(
            "{rows} rows do not split into {n_heads} heads of an even number of rows"
        )));
    }
    Ok((rows, rows / n_heads))
}

/// `(gguf row, hf row)` pairs of the permutation.
fn pairs(rows: usize, head: usize) -> impl Iterator<Item = (usize, usize)> {
    let half = head / 2;
    (0..rows).map(move |g| {
        let (h, r) = (g / head, g % head);
        (g, h * head + (r % 2) * half + r / 2)
    })
}

/// Hugging Face row order to GGUF row order (what llama.cpp's converter does to Q and K): `values` is row-major
/// `rows × cols`.
pub fn permute_rows<T: Copy>(
    values: &[T],
    cols: usize,
    n_heads: usize,
) -> Result<Vec<T>, ExportError> {
    let (rows, head) = head_rows(values.len(), cols, n_heads)?;
    let mut out = Vec::with_capacity(values.len());
    for (_, hf) in pairs(rows, head) {
        out.extend_from_slice(&values[hf * cols..(hf + 1) * cols]);
    }
    Ok(out)
}

/// GGUF row order back to Hugging Face row order, the inverse of [`permute_rows`].
pub fn unpermute_rows<T: Copy + Default>(
    values: &[T],
    cols: usize,
    n_heads: usize,
) -> Result<Vec<T>, ExportError> {
    let (rows, head) = head_rows(values.len(), cols, n_heads)?;
    let mut out = vec![T::default(); values.len()];
    for (g, hf) in pairs(rows, head) {
        out[hf * cols..(hf + 1) * cols].copy_from_slice(&values[g * cols..(g + 1) * cols]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reshape_swapaxes_definition_by_hand() {
        // 2 heads of 4 rows, 1 column: reshape(2, 2, 2) gives [[[0,1],[2,3]],[[4,5],[6,7]]]; swapping the inner axes
        // gives [[[0,2],[1,3]],[[4,6],[5,7]]], flattened [0,2,1,3,4,6,5,7].
        let hf: Vec<u32> = (0..8).collect();
        assert_eq!(permute_rows(&hf, 1, 2).unwrap(), [0, 2, 1, 3, 4, 6, 5, 7]);
        // one head of 6 rows, 2 columns: reshape(1, 2, 3) = [[0,1,2],[3,4,5]] → swapaxes → rows [0,3,1,4,2,5]
        let hf: Vec<u32> = (0..12).collect();
        assert_eq!(
            permute_rows(&hf, 2, 1).unwrap(),
            [0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11]
        );
    }

    #[test]
    fn unpermute_inverts_permute() {
        for (rows, cols, heads) in [(8, 3, 2), (32, 5, 4), (12, 1, 3), (64, 2, 1)] {
            let hf: Vec<u32> = (0..rows * cols).map(|v| v as u32).collect();
            let g = permute_rows(&hf, cols, heads).unwrap();
            assert_ne!(g, hf, "{rows}×{cols}/{heads} is not the identity");
            assert_eq!(unpermute_rows(&g, cols, heads).unwrap(), hf);
            assert_eq!(
                permute_rows(&unpermute_rows(&hf, cols, heads).unwrap(), cols, heads).unwrap(),
                hf
            );
        }
    }

    #[test]
    fn shapes_that_do_not_split_into_heads_are_errors() {
        let v = [0u8; 12];
        assert!(permute_rows(&v, 5, 1).is_err(), "not whole rows");
        assert!(permute_rows(&v, 1, 5).is_err(), "12 rows into 5 heads");
        assert!(permute_rows(&v, 4, 1).is_err(), "3 rows per head is odd");
        assert!(unpermute_rows(&v, 1, 0).is_err(), "no heads");
        assert!(unpermute_rows(&v, 0, 1).is_err(), "no columns");
    }
}
