//! The trace commitment (DESIGN.md §3.2): leaves, the Merkle tree over them, and proofs.
//!
//! A worker that trains for `T` steps hashes its whole training state every `k` steps,
//! `stateHash_j = sha256(encode(S_{j*k}))` for `j = 0..=T/k`, and commits to the sequence
//! with one Merkle root. This module turns state hashes into that root and into the
//! proofs that the contract checks with OpenZeppelin's `MerkleProof`.
//!
//! # Leaves
//!
//! ```text
//! leaf_j = keccak256(abi.encode(uint256 jobId, uint256 j*k, bytes32 stateHash_j))
//! ```
//!
//! The leaf binds the job and the step, so a proof cannot be replayed for another job or
//! another checkpoint, and it is one-way: seeing a leaf (for example as a proof sibling)
//! does not give away its state hash. The contract never accepts a leaf from the caller;
//! it derives the leaf from `(jobId, step, stateHash)`. A leaf is the hash of 96 bytes and
//! an inner node the hash of 64 bytes, so an inner node can never pass for a leaf.
//!
//! # Tree shape
//!
//! Inner nodes use OpenZeppelin's commutative hash,
//! `hash_pair(a, b) = keccak256(min(a, b) ++ max(a, b))` (`Hashes.commutativeKeccak256`),
//! so a proof is a plain list of siblings with no left/right flags, and checking one is
//! `MerkleProof.verify(proof, root, leaf)`. The shape is Tern's own rule:
//!
//! 1. level 0 is the leaves, in checkpoint order (`leaf_0` first);
//! 2. each next level hashes neighbours pairwise, `(0, 1), (2, 3), …`; when a level has an
//!    odd number of nodes, the last one is carried up to the next level unchanged;
//! 3. the root is the single node left. One leaf is its own root, with an empty proof.
//!
//! A proof lists the siblings from the bottom up and skips the levels where the node was
//! carried up, so proofs in the same tree can differ in length. Because the hash is
//! commutative, the proof does not fix the leaf's position; the step inside the leaf does.
//!
//! # Example
//!
//! ```
//! use alloy::primitives::{B256, U256};
//! use tern_contracts::trace::{TraceCommitment, TraceTree};
//!
//! let state_hashes = [B256::repeat_byte(1), B256::repeat_byte(2), B256::repeat_byte(3)];
//! let commitment = TraceCommitment::from_state_hashes(U256::from(7), 100, &state_hashes)?;
//!
//! // Reveal checkpoint 1 (step 100): the leaf is derived from the state hash, as on chain.
//! let proof = commitment.proof(1)?;
//! let leaf = commitment.leaf_for(1, state_hashes[1])?;
//! assert!(TraceTree::verify(commitment.root(), leaf, &proof));
//!
//! // A wrong state hash does not reach the root.
//! let wrong = commitment.leaf_for(1, B256::repeat_byte(9))?;
//! assert!(!TraceTree::verify(commitment.root(), wrong, &proof));
//! # Ok::<(), tern_contracts::trace::TraceError>(())
//! ```

use alloy::primitives::{B256, U256, keccak256};

/// Why a trace commitment could not be built or queried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// A tree needs at least one leaf; a trace has at least checkpoint 0.
    #[error("a trace tree needs at least one leaf, got none")]
    Empty,
    /// A leaf index past the last leaf.
    #[error("leaf index {index} is out of range for a tree of {len} leaves")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// The number of leaves in the tree.
        len: usize,
    },
    /// The checkpoint interval `k` was zero.
    #[error("the checkpoint interval k must be at least 1, got 0")]
    ZeroInterval,
    /// `checkpoint * k` does not fit in a `u64` step counter.
    #[error("checkpoint {checkpoint} times interval {interval} overflows a u64 step counter")]
    StepOverflow {
        /// The checkpoint index `j`.
        checkpoint: u64,
        /// The checkpoint interval `k`.
        interval: u64,
    },
}

/// The leaf for one checkpoint: `keccak256(abi.encode(uint256 jobId, uint256 step, bytes32 stateHash))`.
///
/// `step` is the training step the state was taken after (`j * k` for checkpoint `j`, see
/// [`checkpoint_step`]); it is encoded as a `uint256`, exactly as Solidity encodes it.
pub fn leaf(job_id: U256, step: u64, state_hash: B256) -> B256 {
    // abi.encode of three static words: each is 32 bytes, big-endian.
    let mut buf = [0u8; 96];
    buf[..32].copy_from_slice(&job_id.to_be_bytes::<32>());
    buf[56..64].copy_from_slice(&step.to_be_bytes());
    buf[64..].copy_from_slice(state_hash.as_slice());
    keccak256(buf)
}

/// The training step of checkpoint `j` with interval `k`: `j * k`.
///
/// Fails when `k` is zero or when the product does not fit in a `u64`.
pub fn checkpoint_step(j: u64, k: u64) -> Result<u64, TraceError> {
    if k == 0 {
        return Err(TraceError::ZeroInterval);
    }
    j.checked_mul(k).ok_or(TraceError::StepOverflow {
        checkpoint: j,
        interval: k,
    })
}

/// OpenZeppelin's `Hashes.commutativeKeccak256`: `keccak256(min(a, b) ++ max(a, b))`.
pub fn hash_pair(a: B256, b: B256) -> B256 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(lo.as_slice());
    buf[32..].copy_from_slice(hi.as_slice());
    keccak256(buf)
}

/// A Merkle tree over trace leaves, in the shape described in the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceTree {
    /// `levels[0]` is the leaves, the last level is the root alone.
    levels: Vec<Vec<B256>>,
}

impl TraceTree {
    /// Builds the tree over `leaves`, in order. Fails on an empty list.
    pub fn new(leaves: Vec<B256>) -> Result<Self, TraceError> {
        if leaves.is_empty() {
            return Err(TraceError::Empty);
        }
        let mut levels = vec![leaves];
        while let Some(level) = levels.last().filter(|level| level.len() > 1) {
            let next = level
                .chunks(2)
                .map(|pair| match *pair {
                    [a, b] => hash_pair(a, b),
                    // An odd last node is carried up unchanged.
                    [a] => a,
                    _ => unreachable!("chunks(2) yields one or two nodes"),
                })
                .collect();
            levels.push(next);
        }
        Ok(Self { levels })
    }

    /// The root: the single node of the top level.
    pub fn root(&self) -> B256 {
        self.levels[self.levels.len() - 1][0]
    }

    /// The leaves, in order.
    pub fn leaves(&self) -> &[B256] {
        &self.levels[0]
    }

    /// The number of leaves.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Always `false`: a tree has at least one leaf. Present because `len` is.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The proof for leaf `index`: its siblings from the bottom up, skipping the levels
    /// where the node had no sibling and was carried up.
    pub fn proof(&self, index: usize) -> Result<Vec<B256>, TraceError> {
        if index >= self.len() {
            return Err(TraceError::IndexOutOfRange {
                index,
                len: self.len(),
            });
        }
        let mut proof = Vec::with_capacity(self.levels.len() - 1);
        let mut i = index;
        for level in &self.levels[..self.levels.len() - 1] {
            if let Some(&sibling) = level.get(i ^ 1) {
                proof.push(sibling);
            }
            i /= 2;
        }
        Ok(proof)
    }

    /// Whether `proof` leads from `leaf` to `root`, exactly as OpenZeppelin's
    /// `MerkleProof.verify` decides it: fold [`hash_pair`] over the proof.
    pub fn verify(root: B256, leaf: B256, proof: &[B256]) -> bool {
        Self::process_proof(leaf, proof) == root
    }

    /// The root that `proof` leads to from `leaf` (OpenZeppelin's `processProof`).
    pub fn process_proof(leaf: B256, proof: &[B256]) -> B256 {
        proof
            .iter()
            .fold(leaf, |node, &sibling| hash_pair(node, sibling))
    }
}

/// A worker's whole trace commitment for one job: the leaves and the tree over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceCommitment {
    job_id: U256,
    interval: u64,
    tree: TraceTree,
}

impl TraceCommitment {
    /// Commits to `state_hashes[j] = stateHash_j`, the state after `j * k` steps, for job `job_id`.
    ///
    /// Fails when there are no state hashes, when `k` is zero, or when a step overflows a `u64`.
    pub fn from_state_hashes(
        job_id: U256,
        k: u64,
        state_hashes: &[B256],
    ) -> Result<Self, TraceError> {
        let leaves = state_hashes
            .iter()
            .zip(0u64..)
            .map(|(&state_hash, j)| Ok(leaf(job_id, checkpoint_step(j, k)?, state_hash)))
            .collect::<Result<Vec<_>, TraceError>>()?;
        Ok(Self {
            job_id,
            interval: k,
            tree: TraceTree::new(leaves)?,
        })
    }

    /// The job id the leaves are bound to.
    pub fn job_id(&self) -> U256 {
        self.job_id
    }

    /// The checkpoint interval `k`.
    pub fn interval(&self) -> u64 {
        self.interval
    }

    /// The trace root, the value `submitResult` puts on chain.
    pub fn root(&self) -> B256 {
        self.tree.root()
    }

    /// The leaves, `leaf_0..=leaf_n`.
    pub fn leaves(&self) -> &[B256] {
        self.tree.leaves()
    }

    /// The tree over the leaves.
    pub fn tree(&self) -> &TraceTree {
        &self.tree
    }

    /// The Merkle proof for checkpoint `j`.
    pub fn proof(&self, j: usize) -> Result<Vec<B256>, TraceError> {
        self.tree.proof(j)
    }

    /// The leaf that checkpoint `j` would have with `state_hash`, derived the way the
    /// contract derives it from a revealed or attested state hash.
    pub fn leaf_for(&self, j: usize, state_hash: B256) -> Result<B256, TraceError> {
        if j >= self.tree.len() {
            return Err(TraceError::IndexOutOfRange {
                index: j,
                len: self.tree.len(),
            });
        }
        let step = checkpoint_step(j as u64, self.interval)?;
        Ok(leaf(self.job_id, step, state_hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::b256;
    use alloy::sol_types::SolValue;

    fn hashes(n: usize) -> Vec<B256> {
        (0..n).map(|i| keccak256(format!("state-{i}"))).collect()
    }

    /// Known answers computed with Foundry's `cast` 1.7.1, independently of this code:
    ///
    /// ```text
    /// SH=0x$(printf tern | sha256sum | cut -d' ' -f1)
    /// cast keccak $(cast abi-encode "f(uint256,uint256,bytes32)" 42 1000 $SH)
    /// cast keccak $(cast abi-encode "f(uint256,uint256,bytes32)" $(cast max-uint) \
    ///     18446744073709551615 0x00…01)
    /// ```
    #[test]
    fn leaf_known_answers() {
        let state_hash = b256!("77d1eefaf7e6e91b0f4d16b77fad6b483e7ba5f66f03ad5a08e64abc783fbc14");
        assert_eq!(
            leaf(U256::from(42), 1000, state_hash),
            b256!("dab3fd1e121fc4d965df7050bb039109f94329087ddcd0caf1aa7a43bf1cdbf1")
        );
        assert_eq!(
            leaf(U256::MAX, u64::MAX, B256::with_last_byte(1)),
            b256!("79e12170ccae028a63bad9dc1711566a91cdbbf26c7946f1659dcea804359ba8")
        );
    }

    #[test]
    fn leaf_matches_sol_abi_encode() {
        for (job_id, step) in [
            (U256::ZERO, 0),
            (U256::from(7), 123_456),
            (U256::MAX, u64::MAX),
        ] {
            let state_hash = keccak256(step.to_be_bytes());
            let encoded = (job_id, U256::from(step), state_hash).abi_encode();
            assert_eq!(encoded.len(), 96);
            assert_eq!(leaf(job_id, step, state_hash), keccak256(encoded));
        }
    }

    /// `cast keccak $(cast concat-hex $(cast keccak a) $(cast keccak b))`; keccak("a") < keccak("b").
    #[test]
    fn hash_pair_known_answer_and_commutative() {
        let a = keccak256("a");
        let b = keccak256("b");
        let expected = b256!("805b21d846b189efaeb0377d6bb0d201b3872a363e607c25088f025b0c6ae1f8");
        assert_eq!(hash_pair(a, b), expected);
        assert_eq!(hash_pair(b, a), expected);
    }

    #[test]
    fn checkpoint_step_checks() {
        assert_eq!(checkpoint_step(0, 5), Ok(0));
        assert_eq!(checkpoint_step(3, 5), Ok(15));
        assert_eq!(checkpoint_step(u64::MAX, 1), Ok(u64::MAX));
        assert_eq!(checkpoint_step(1, 0), Err(TraceError::ZeroInterval));
        assert_eq!(
            checkpoint_step(u64::MAX, 2),
            Err(TraceError::StepOverflow {
                checkpoint: u64::MAX,
                interval: 2
            })
        );
    }

    #[test]
    fn empty_tree_is_an_error() {
        assert_eq!(TraceTree::new(vec![]), Err(TraceError::Empty));
        assert_eq!(
            TraceCommitment::from_state_hashes(U256::from(1), 1, &[]),
            Err(TraceError::Empty)
        );
    }

    #[test]
    fn one_leaf_is_its_own_root() {
        let tree = TraceTree::new(vec![B256::repeat_byte(5)]).unwrap();
        assert_eq!(tree.root(), B256::repeat_byte(5));
        assert_eq!(tree.proof(0).unwrap(), Vec::<B256>::new());
        assert!(TraceTree::verify(tree.root(), B256::repeat_byte(5), &[]));
    }

    #[test]
    fn shape_of_small_trees() {
        let l = hashes(5);
        let tree = TraceTree::new(l.clone()).unwrap();
        let h01 = hash_pair(l[0], l[1]);
        let h23 = hash_pair(l[2], l[3]);
        // Level 1: [h01, h23, l4]; level 2: [h(h01, h23), l4]; root: h(level 2).
        let expected = hash_pair(hash_pair(h01, h23), l[4]);
        assert_eq!(tree.root(), expected);
        assert_eq!(tree.proof(4).unwrap(), vec![hash_pair(h01, h23)]);
        assert_eq!(tree.proof(2).unwrap(), vec![l[3], h01, l[4]]);

        let three = TraceTree::new(l[..3].to_vec()).unwrap();
        assert_eq!(three.root(), hash_pair(h01, l[2]));
        assert_eq!(three.proof(2).unwrap(), vec![h01]);
    }

    #[test]
    fn every_proof_verifies_for_sizes_1_to_33() {
        for n in 1..=33 {
            let leaves = hashes(n);
            let tree = TraceTree::new(leaves.clone()).unwrap();
            for (i, &leaf) in leaves.iter().enumerate() {
                let proof = tree.proof(i).unwrap();
                assert!(proof.len() <= (usize::BITS - (n - 1).leading_zeros()) as usize);
                assert!(TraceTree::verify(tree.root(), leaf, &proof), "n={n} i={i}");
            }
            assert_eq!(
                tree.proof(n),
                Err(TraceError::IndexOutOfRange { index: n, len: n })
            );
        }
    }

    #[test]
    fn tampering_fails() {
        for n in 2..=17 {
            let leaves = hashes(n);
            let tree = TraceTree::new(leaves.clone()).unwrap();
            let root = tree.root();
            for (i, &leaf) in leaves.iter().enumerate() {
                let proof = tree.proof(i).unwrap();
                // A wrong leaf.
                let mut bad_leaf = leaf;
                bad_leaf.0[31] ^= 1;
                assert!(!TraceTree::verify(root, bad_leaf, &proof));
                // A flipped bit in each sibling.
                for s in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[s].0[0] ^= 0x80;
                    assert!(!TraceTree::verify(root, leaf, &bad), "n={n} i={i} s={s}");
                }
                // A dropped or an extra sibling.
                assert!(!TraceTree::verify(root, leaf, &proof[..proof.len() - 1]));
                let mut longer = proof.clone();
                longer.push(leaf);
                assert!(!TraceTree::verify(root, leaf, &longer));
                // Another leaf's proof.
                let other = tree.proof((i + 1) % n).unwrap();
                if other != proof {
                    assert!(!TraceTree::verify(root, leaf, &other));
                }
            }
        }
    }

    /// A lazy verifier sees leaves as proof siblings but not the state hashes behind them.
    /// Passing a sibling leaf (or any node of a proof) as the state hash must not verify,
    /// with any checkpoint and any suffix of the proof.
    #[test]
    fn proof_siblings_are_not_state_hashes() {
        let job_id = U256::from(99);
        for n in 2..=13 {
            let states = hashes(n);
            let c = TraceCommitment::from_state_hashes(job_id, 10, &states).unwrap();
            for i in 0..n {
                let proof = c.proof(i).unwrap();
                for &sibling in &proof {
                    for j in 0..n {
                        let forged = c.leaf_for(j, sibling).unwrap();
                        for skip in 0..=proof.len() {
                            assert!(!TraceTree::verify(c.root(), forged, &proof[skip..]));
                            assert!(!TraceTree::verify(c.root(), forged, &c.proof(j).unwrap()));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn commitment_binds_job_and_step() {
        let states = hashes(6);
        let c = TraceCommitment::from_state_hashes(U256::from(1), 4, &states).unwrap();
        assert_eq!(c.job_id(), U256::from(1));
        assert_eq!(c.interval(), 4);
        for (j, &state) in states.iter().enumerate() {
            assert_eq!(c.leaves()[j], leaf(U256::from(1), 4 * j as u64, state));
            let proof = c.proof(j).unwrap();
            assert!(TraceTree::verify(
                c.root(),
                c.leaf_for(j, state).unwrap(),
                &proof
            ));
            // Same state hash, wrong job or wrong step: no.
            assert!(!TraceTree::verify(
                c.root(),
                leaf(U256::from(2), 4 * j as u64, state),
                &proof
            ));
            assert!(!TraceTree::verify(
                c.root(),
                leaf(U256::from(1), 4 * j as u64 + 1, state),
                &proof
            ));
        }
        assert_eq!(
            c.leaf_for(6, states[0]),
            Err(TraceError::IndexOutOfRange { index: 6, len: 6 })
        );
        assert_eq!(
            TraceCommitment::from_state_hashes(U256::from(1), 0, &states),
            Err(TraceError::ZeroInterval)
        );
        assert!(matches!(
            TraceCommitment::from_state_hashes(U256::from(1), u64::MAX, &states),
            Err(TraceError::StepOverflow { checkpoint: 2, .. })
        ));
    }

    #[test]
    fn error_messages_are_readable() {
        assert_eq!(
            TraceError::IndexOutOfRange { index: 3, len: 2 }.to_string(),
            "leaf index 3 is out of range for a tree of 2 leaves"
        );
    }
}
