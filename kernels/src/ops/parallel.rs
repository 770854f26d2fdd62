//! Running independent pieces of an op on several threads. Each piece is computed whole by one thread and the
//! results are put back in index order, so the output does not depend on the thread count.

/// `f(0), f(1), …, f(n − 1)` computed on up to `threads` scoped threads, in index order.
pub fn map_indices<T: Send>(n: usize, threads: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = threads.clamp(1, n.max(1));
    if threads == 1 {
        return (0..n).map(f).collect();
    }
    let per = n.div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || (t * per..((t + 1) * per).min(n)).map(f).collect::<Vec<T>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker thread panicked"))
            .collect()
    })
}

/// `f` over contiguous chunks of `0..rows`, one chunk per thread (up to `threads`), results in row order. For
/// row-wise ops whose every row is computed whole by one thread.
pub fn map_row_chunks<T: Send>(
    rows: usize,
    threads: usize,
    f: impl Fn(std::ops::Range<usize>) -> T + Sync,
) -> Vec<T> {
    let chunks = threads.clamp(1, rows.max(1));
    let per = rows.div_ceil(chunks);
    map_indices(chunks, chunks, |c| {
        f((c * per).min(rows)..((c + 1) * per).min(rows))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order_for_any_thread_count() {
        for threads in [1, 2, 3, 7, 50] {
            assert_eq!(
                map_indices(10, threads, |i| i * i),
                (0..10).map(|i| i * i).collect::<Vec<_>>()
            );
        }
        assert!(map_indices(0, 4, |i| i).is_empty());
        for threads in [1, 2, 3, 7] {
            let chunks = map_row_chunks(10, threads, |r| r.collect::<Vec<_>>());
            assert_eq!(chunks.concat(), (0..10).collect::<Vec<_>>());
        }
    }
}
