//! The jobs view as a fold over a job's events: [`apply`] takes the job as it was (or nothing, before its
//! `JobCreated`) and one event, and returns the job after it. The indexer applies each new event to the stored row;
//! a rollback refolds a job from its remaining events. Both go through this one function, so the view after a
//! reorg is exactly the view a fresh index of the new chain would build.

use tern_contracts::JobState;

use super::events::{JobEvent, state_name};
use crate::db::{Dispute, Job, Vote};

/// Where an event is: the block, the log index, the transaction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At<'a> {
    pub(crate) block_number: u64,
    pub(crate) log_index: u64,
    pub(crate) tx_hash: &'a str,
}

/// The job `job_id` after `event`. `None` in, `None` out for any event but `JobCreated`: the job was created
/// before the indexer's start block, and its view cannot be built.
pub(crate) fn apply(job: Option<Job>, job_id: &str, at: At<'_>, event: &JobEvent) -> Option<Job> {
    if let JobEvent::JobCreated {
        requester,
        reward,
        spec_hash,
        verifier_fee,
        worker_bond,
        total_steps,
        checkpoint_interval,
        sample_count,
        open_until,
        train_duration,
        ..
    } = event
    {
        return Some(Job {
            job_id: job_id.to_string(),
            requester: requester.clone(),
            worker: None,
            // JobStateChanged(Open) follows in the same transaction and sets the deadline.
            state: state_name(JobState::Open).to_string(),
            deadline: *open_until,
            spec_hash: spec_hash.clone(),
            reward: reward.clone(),
            verifier_fee: verifier_fee.clone(),
            worker_bond: worker_bond.clone(),
            total_steps: *total_steps,
            checkpoint_interval: *checkpoint_interval,
            num_intervals: total_steps.checked_div(*checkpoint_interval).unwrap_or(0),
            sample_count: u32::from(*sample_count),
            open_until: *open_until,
            train_duration: *train_duration,
            trace_root: None,
            adapter_hash: None,
            anchor_block: None,
            audit_seed: None,
            audit_intervals: Vec::new(),
            verifiers: Vec::new(),
            revealed_start_hashes: Vec::new(),
            attested_indexes: Vec::new(),
            disputes: Vec::new(),
            dispute_outcome: None,
            created_block: at.block_number,
            created_log_index: at.log_index,
            created_tx: at.tx_hash.to_string(),
            updated_block: at.block_number,
        });
    }
    let mut job = job?;
    job.updated_block = at.block_number;
    match event {
        JobEvent::JobCreated { .. } => {}
        JobEvent::JobStateChanged { state, deadline } => {
            job.state.clone_from(state);
            job.deadline = *deadline;
            // A claim that expired in time puts the job back to Open; the contract clears its worker.
            if state == state_name(JobState::Open) {
                job.worker = None;
            }
        }
        JobEvent::JobClaimed { worker } => job.worker = Some(worker.clone()),
        JobEvent::ResultSubmitted {
            trace_root,
            adapter_hash,
            anchor_block,
        } => {
            job.trace_root = Some(trace_root.clone());
            job.adapter_hash = Some(adapter_hash.clone());
            job.anchor_block = Some(*anchor_block);
        }
        JobEvent::AuditReanchored { anchor_block } => job.anchor_block = Some(*anchor_block),
        JobEvent::AuditStarted {
            seed,
            intervals,
            verifiers,
        } => {
            job.audit_seed = Some(seed.clone());
            job.audit_intervals.clone_from(intervals);
            job.verifiers.clone_from(verifiers);
        }
        JobEvent::CheckpointsRevealed { start_state_hashes } => {
            job.revealed_start_hashes.clone_from(start_state_hashes);
        }
        JobEvent::IntervalsAttested { indexes, .. } => {
            for &index in indexes {
                mark_attested(&mut job, index);
            }
        }
        JobEvent::VerifierReplaced {
            index, replacement, ..
        } => {
            if let Some(slot) = usize::try_from(*index)
                .ok()
                .and_then(|i| job.verifiers.get_mut(i))
            {
                slot.clone_from(replacement);
            }
        }
        JobEvent::DisputeOpened {
            index,
            challenger,
            anchor_block,
        } => job.disputes.push(Dispute {
            index: *index,
            challenger: challenger.clone(),
            anchor_block: *anchor_block,
            committee: Vec::new(),
            commit_deadline: None,
            reveal_deadline: None,
            committed: Vec::new(),
            votes: Vec::new(),
            outcome: None,
            state_hash: None,
            adapter_hash: None,
        }),
        JobEvent::DisputeReanchored { anchor_block } => {
            if let Some(d) = job.disputes.last_mut() {
                d.anchor_block = *anchor_block;
            }
        }
        JobEvent::CommitteeDrawn {
            members,
            commit_deadline,
            reveal_deadline,
        } => {
            if let Some(d) = job.disputes.last_mut() {
                d.committee.clone_from(members);
                d.commit_deadline = Some(*commit_deadline);
                d.reveal_deadline = Some(*reveal_deadline);
            }
        }
        JobEvent::VoteCommitted { member } => {
            if let Some(d) = job.disputes.last_mut() {
                d.committed.push(member.clone());
            }
        }
        JobEvent::VoteRevealed {
            member,
            state_hash,
            adapter_hash,
        } => {
            if let Some(d) = job.disputes.last_mut() {
                d.votes.push(Vote {
                    member: member.clone(),
                    state_hash: state_hash.clone(),
                    adapter_hash: adapter_hash.clone(),
                });
            }
        }
        JobEvent::DisputeResolved {
            index,
            outcome,
            state_hash,
            adapter_hash,
        } => {
            if let Some(d) = job.disputes.last_mut() {
                d.outcome = Some(outcome.clone());
                d.state_hash = Some(state_hash.clone());
                d.adapter_hash = Some(adapter_hash.clone());
            }
            // A committee that upholds the worker marks the interval attested, as the contract does.
            if outcome == "worker_honest" {
                mark_attested(&mut job, *index);
            }
            job.dispute_outcome = Some(outcome.clone());
        }
    }
    Some(job)
}

fn mark_attested(job: &mut Job, index: u64) {
    if let Err(at) = job.attested_indexes.binary_search(&index) {
        job.attested_indexes.insert(at, index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(block_number: u64) -> At<'static> {
        At {
            block_number,
            log_index: 0,
            tx_hash: "0xtx",
        }
    }

    fn created() -> JobEvent {
        JobEvent::JobCreated {
            requester: "0xr".into(),
            reward: "100".into(),
            spec_hash: "0xs".into(),
            params_reward: "100".into(),
            verifier_fee: "2".into(),
            worker_bond: "50".into(),
            total_steps: 60,
            checkpoint_interval: 10,
            sample_count: 3,
            open_until: 1000,
            train_duration: 60,
        }
    }

    #[test]
    fn events_before_creation_are_ignored() {
        let event = JobEvent::JobClaimed {
            worker: "0xw".into(),
        };
        assert!(apply(None, "0x1", at(1), &event).is_none());
    }

    #[test]
    fn claim_expiry_and_attestations_fold() {
        let mut job = apply(None, "0x1", at(1), &created());
        for (block, event) in [
            (
                2,
                JobEvent::JobStateChanged {
                    state: "claimed".into(),
                    deadline: 500,
                },
            ),
            (
                2,
                JobEvent::JobClaimed {
                    worker: "0xw".into(),
                },
            ),
            (
                3,
                JobEvent::JobStateChanged {
                    state: "open".into(),
                    deadline: 1000,
                },
            ),
        ] {
            job = apply(job, "0x1", at(block), &event);
        }
        let mut job = job.unwrap();
        assert_eq!(job.worker, None);
        assert_eq!(job.state, "open");
        assert_eq!((job.created_block, job.updated_block), (1, 3));
        assert_eq!(job.num_intervals, 6);
        for indexes in [vec![2, 0], vec![1, 2]] {
            job = apply(
                Some(job),
                "0x1",
                at(4),
                &JobEvent::IntervalsAttested {
                    verifier: "0xv".into(),
                    indexes,
                    end_state_hashes: Vec::new(),
                },
            )
            .unwrap();
        }
        assert_eq!(job.attested_indexes, vec![0, 1, 2]);
    }
}
