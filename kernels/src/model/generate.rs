//! Text generation with the base model and its adapters: greedy or sampled decoding.
//!
//! Each new token reruns the whole sequence (no key/value cache): generation here is for evaluating an adapter on
//! short prompts, not for serving. Sampling draws from the job-independent `key`, so a run is reproducible.

use super::transformer::Transformer;
use crate::{cpu::CpuError, rng::Key};

/// How the next token is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    /// The most likely token (ties: the lowest id).
    Greedy,
    /// A draw from `softmax(logits / temperature)` restricted to the `top_k` most likely tokens (0 = all).
    Temperature {
        /// Softmax temperature (> 0).
        temperature: f64,
        /// Candidates kept (0 keeps every token).
        top_k: usize,
        /// Random stream.
        key: Key,
    },
}

/// Generates up to `max_new` tokens after `prompt` (at least one token), stopping after `stop` if given. The
/// sequence must stay within the positions the model was loaded for.
pub fn generate(
    model: &Transformer<'_>,
    prompt: &[u32],
    max_new: usize,
    sampling: Sampling,
    stop: Option<u32>,
) -> Result<Vec<u32>, CpuError> {
    assert!(
        !prompt.is_empty(),
        "generation needs a prompt of at least one token"
    );
    let mut tokens = prompt.to_vec();
    let mut out = Vec::with_capacity(max_new);
    for i in 0..max_new {
        let logits = model.next_logits(&tokens)?;
        let next = choose(&logits, sampling, i as u32);
        tokens.push(next);
        out.push(next);
        if Some(next) == stop {
            break;
        }
    }
    Ok(out)
}

fn choose(logits: &[f64], sampling: Sampling, draw: u32) -> u32 {
    let argmax = || {
        logits
            .iter()
            .enumerate()
            .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
                if v > best.1 { (i, v) } else { best }
            })
            .0
    };
    match sampling {
        Sampling::Greedy => argmax() as u32,
        Sampling::Temperature {
            temperature,
            top_k,
            key,
        } => {
            assert!(temperature > 0.0, "temperature must be positive");
            let mut order: Vec<usize> = (0..logits.len()).collect();
            order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
            if top_k > 0 {
                order.truncate(top_k);
            }
            let max = logits[order[0]];
            let weights: Vec<f64> = order
                .iter()
                .map(|&i| ((logits[i] - max) / temperature).exp())
                .collect();
            let total: f64 = weights.iter().sum();
            let u = f64::from(key.word(draw, 0, 0)) / (f64::from(u32::MAX) + 1.0) * total;
            let mut acc = 0.0;
            for (&i, w) in order.iter().zip(&weights) {
                acc += w;
                if u < acc {
                    return i as u32;
                }
            }
            order[order.len() - 1] as u32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_largest_and_sampling_follows_the_weights() {
        assert_eq!(choose(&[0.1, 3.0, 2.9], Sampling::Greedy, 0), 1);
        let key = Key(5);
        let mut counts = [0u32; 3];
        for draw in 0..20_000 {
            let s = Sampling::Temperature {
                temperature: 1.0,
                top_k: 0,
                key,
            };
            counts[choose(&[0.0, 1.0, 2.0], s, draw) as usize] += 1;
        }
        // softmax(0, 1, 2) = 0.090, 0.245, 0.665
        let p: Vec<f64> = counts.iter().map(|&c| f64::from(c) / 20_000.0).collect();
        assert!(
            (p[0] - 0.090).abs() < 0.01
                && (p[1] - 0.245).abs() < 0.015
                && (p[2] - 0.665).abs() < 0.015,
            "{p:?}"
        );
        let top1 = Sampling::Temperature {
            temperature: 5.0,
            top_k: 1,
            key,
        };
        assert!((0..100).all(|d| choose(&[0.0, 1.0, 2.0], top1, d) == 2));
    }
}
