//! A worker that commits a wrong end state for the last interval (always sampled) is caught:
//! the assigned verifier disputes, a committee of three staked verifiers commits and reveals
//! the honest hash, and after the proof window an empty proof settles it: Slashed.

use alloy::primitives::{B256, U256};
use tern_contracts::devnet::{Devnet, FakeTrace, Role};
use tern_contracts::{
    ContractError, DisputeOutcome, JobState, MarketRevert, reveal_args, vote_commitment,
};

use crate::common::{ALL_ROLES, assert_solvent, claim_and_submit, create, staked};

const VERIFIERS: [Role; 4] = [
    Role::Verifier,
    Role::Extra(0),
    Role::Extra(1),
    Role::Extra(2),
];

#[tokio::test]
async fn cheating_worker_is_slashed_after_dispute() {
    let devnet = Devnet::spawn().await.unwrap();
    let config = devnet.config().clone();
    let params = devnet.job_params("cheat").await.unwrap();
    let requester = devnet.client(Role::Requester).await.unwrap();
    let anyone = devnet.client(Role::Deployer).await.unwrap();
    let worker = staked(&devnet, Role::Worker, params.worker_bond, false).await;
    let mut verifiers = Vec::new();
    for role in VERIFIERS {
        verifiers.push(staked(&devnet, role, config.min_verifier_stake, true).await);
    }

    let job_id = create(&requester, &params).await;
    let n = params.num_intervals();
    let k = params.checkpoint_interval;
    // Honest up to checkpoint n - 1; the final state (and so the adapter) is made up.
    let trace = FakeTrace::cheating_from(job_id, n, k, 11, n).unwrap();
    let result = claim_and_submit(&devnet, &worker, job_id, &trace).await;

    let seed = worker.audit_seed(&result).await.unwrap();
    let intervals = worker
        .sample_intervals(seed, n, params.sample_count)
        .await
        .unwrap();
    assert_eq!(*intervals.last().unwrap(), u64::from(n - 1));
    let (starts, proofs) = reveal_args(&trace.commitment, &trace.state_hashes, &intervals).unwrap();
    let audit = worker
        .start_audit_and_reveal(job_id, &result, starts.clone(), proofs)
        .await
        .unwrap()
        .outcome;
    assert_eq!(anyone.audit_of(job_id).await.unwrap(), audit);
    assert_eq!(anyone.revealed_checkpoints(job_id).await.unwrap(), starts);

    // Each assigned verifier re-runs its intervals from the revealed start states: the
    // matching ones are attested, the last one is disputed.
    let last = intervals.len() - 1;
    let mut disputed_by = None;
    let mut attested = 0u64;
    for (i, (&j, &start)) in intervals.iter().zip(&starts).enumerate() {
        let verifier = verifiers
            .iter()
            .find(|v| v.sender() == audit.verifiers[i])
            .expect("assigned verifier is one of ours");
        let end = FakeTrace::step(job_id, j as u32, start);
        if end == trace.state_hashes[j as usize + 1] {
            let proof = trace.commitment.proof(j as usize + 1).unwrap();
            verifier
                .attest(job_id, &audit, &[i as u64], vec![end], vec![proof])
                .await
                .unwrap();
            attested += 1;
        } else {
            assert_eq!(i, last, "only the last interval was faked");
            disputed_by = Some(verifier.clone());
        }
    }
    assert_eq!(attested, last as u64);
    let challenger = disputed_by.expect("the last interval is disputed");
    challenger
        .dispute(job_id, &audit, last as u64)
        .await
        .unwrap();
    assert_eq!(anyone.job(job_id).await.unwrap().state, JobState::Disputed);
    assert_eq!(
        anyone.account_of(challenger.sender()).await.unwrap().locked,
        config.dispute_bond
    );

    // The committee: the three pool members other than the challenger.
    devnet.mine(config.audit_delay).await.unwrap();
    let committee = anyone
        .draw_committee(job_id)
        .await
        .unwrap()
        .outcome
        .expect("committee drawn");
    assert_eq!(committee.members.len(), 3);
    assert!(!committee.members.contains(&challenger.sender()));

    let start = starts[last];
    let honest_end = FakeTrace::step(job_id, intervals[last] as u32, start);
    let honest_adapter = FakeTrace::adapter_of(honest_end);
    let members: Vec<_> = committee
        .members
        .iter()
        .map(|m| verifiers.iter().find(|v| v.sender() == *m).unwrap().clone())
        .collect();
    for (q, member) in members.iter().enumerate() {
        let salt = B256::with_last_byte(q as u8 + 1);
        let c = vote_commitment(honest_end, honest_adapter, salt, member.sender());
        member.commit_vote(job_id, c).await.unwrap();
    }
    // Every member committed, so reveals open at once.
    for (q, member) in members.iter().enumerate() {
        let salt = B256::with_last_byte(q as u8 + 1);
        member
            .reveal_vote(job_id, honest_end, honest_adapter, salt)
            .await
            .unwrap();
    }

    // Nobody can prove the majority value in the worker's trace; an empty proof is only
    // accepted once the proof window is over.
    let err = anyone
        .resolve_dispute(job_id, &audit, vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(err, ContractError::Market(MarketRevert::ProofRequired(_))),
        "{err}"
    );
    devnet
        .advance_time(
            u64::from(config.vote_reveal_window + config.commit_window + config.proof_window) + 1,
        )
        .await
        .unwrap();
    let outcome = anyone
        .resolve_dispute(job_id, &audit, vec![])
        .await
        .unwrap()
        .outcome;
    assert_eq!(outcome, DisputeOutcome::WorkerCheated);

    let job = anyone.job(job_id).await.unwrap();
    assert_eq!(job.state, JobState::Slashed);

    // The worker's bond is gone.
    let w = anyone.account_of(worker.sender()).await.unwrap();
    assert_eq!(
        (w.stake, w.locked, w.balance),
        (U256::ZERO, U256::ZERO, U256::ZERO)
    );

    // The bond is split: half to the challenger, a quarter to the committee, the rest (with
    // the reward and the unearned fees) to the requester. The attesters keep their fees.
    let pot = params.worker_bond;
    let committee_share = pot / U256::from(4) / U256::from(3);
    let rest = pot / U256::from(4) - committee_share * U256::from(3);
    for v in &verifiers {
        let a = anyone.account_of(v.sender()).await.unwrap();
        let fees = audit.verifiers[..last]
            .iter()
            .filter(|&&x| x == v.sender())
            .count() as u64;
        let mut expected = params.verifier_fee * U256::from(fees);
        if v.sender() == challenger.sender() {
            expected += pot / U256::from(2);
        } else {
            expected += committee_share;
        }
        assert_eq!(a.balance, expected, "balance of {}", v.sender());
        assert_eq!(a.stake, config.min_verifier_stake, "nobody else slashed");
        assert_eq!(a.locked, U256::ZERO, "dispute bond unlocked");
    }
    let unpaid_fees = params.verifier_fee * U256::from(params.sample_count as u64 - attested);
    let r = anyone.account_of(requester.sender()).await.unwrap();
    assert_eq!(
        r.balance,
        params.reward + unpaid_fees + (pot - pot / U256::from(2) - pot / U256::from(4)) + rest
    );
    assert_eq!(anyone.escrow_of(job_id).await.unwrap(), U256::ZERO);
    assert_solvent(&devnet, &anyone, &ALL_ROLES, &[job_id]).await;

    // The requester takes its refund.
    let before = requester.token_balance(requester.sender()).await.unwrap();
    let paid = requester
        .withdraw(requester.sender())
        .await
        .unwrap()
        .outcome;
    assert_eq!(paid, r.balance);
    assert_eq!(
        requester.token_balance(requester.sender()).await.unwrap(),
        before + paid
    );
}
