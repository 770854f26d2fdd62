// A job's audit and timeline as the page shows them. The audit comes from the job as the indexer folded it
// (GET /v1/jobs and /v1/jobs/{id}: audit_intervals, verifiers, attested_indexes, disputes); the timeline from the
// job's events (GET /v1/jobs/{id} `events`: `kind` is the contract's event name, `data` its fields in snake_case).

const same = (a, b) => typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();

/** An event kind as a CSS-friendly tag: "AuditStarted" -> "auditstarted". */
export const kindOf = (event) => String(event.kind || '').toLowerCase();

/**
 * The audit: one row per sampled interval {index, interval, verifier, outcome, challenger, replaced[]}, plus every
 * dispute committee's members. Outcome: 'pending', 'attested', 'disputed', or the dispute's resolution.
 * `replaced` (the verifiers replaced for not attesting) comes from the events, when the job carries them.
 */
export function audit(job) {
  const rows = (job.audit_intervals || []).map((interval, i) => ({
    index: i,
    interval: Number(interval),
    verifier: (job.verifiers || [])[i],
    outcome: (job.attested_indexes || []).map(Number).includes(i) ? 'attested' : 'pending',
    replaced: [],
  }));
  for (const dispute of job.disputes || []) {
    const row = rows[Number(dispute.index)];
    if (!row) continue;
    row.challenger = dispute.challenger;
    row.outcome = dispute.outcome ? `dispute resolved: ${dispute.outcome}` : 'disputed';
  }
  for (const event of job.events || []) {
    const row = kindOf(event) === 'verifierreplaced' && rows[Number(event.data.index)];
    if (row) row.replaced.push(event.data.previous);
  }
  const committee = (job.disputes || []).flatMap((d) => d.committee || []);
  return { rows, committee };
}

/** What `address` does in a job's audit: {intervals, attested, disputes, roles[]}, or null when it has no part. */
export function verifierPart(job, address) {
  const { rows, committee } = audit(job);
  const mine = rows.filter((r) => same(r.verifier, address));
  const inCommittee = committee.some((m) => same(m, address));
  const challenged = rows.filter((r) => same(r.challenger, address));
  if (!mine.length && !inCommittee && !challenged.length) return null;
  const roles = [];
  if (mine.length) roles.push('verifier');
  if (inCommittee) roles.push('committee');
  if (challenged.length) roles.push('challenger');
  return {
    intervals: mine.length,
    attested: mine.filter((r) => r.outcome === 'attested').length,
    disputes: challenged.length,
    roles,
  };
}

/** A one-line summary of an event's data for the timeline. */
export function describe(event) {
  const d = event.data || {};
  const list = (values) => (values || []).join(', ');
  const position = (i) => `#${Number(i) + 1}`;
  switch (event.kind) {
    case 'JobCreated': return `Posted by ${d.requester || 'the requester'}`;
    case 'JobStateChanged': return `State: ${d.state}`;
    case 'JobClaimed': return `Claimed by ${d.worker}`;
    case 'ResultSubmitted': return `Result submitted: trace root ${d.trace_root}, adapter ${d.adapter_hash}`;
    case 'AuditReanchored': return `Audit seed moved to block ${d.anchor_block}`;
    case 'AuditStarted': return `Audit started: intervals ${list(d.intervals)}`;
    case 'CheckpointsRevealed': return `Worker revealed ${(d.start_state_hashes || []).length} checkpoint(s)`;
    case 'IntervalsAttested': return `${d.verifier} attested sampled interval(s) ${(d.indexes || []).map(position).join(', ')}`;
    case 'VerifierReplaced': return `Verifier of sampled interval ${position(d.index)} replaced by ${d.replacement}`;
    case 'DisputeOpened': return `Dispute on sampled interval ${position(d.index)} by ${d.challenger}`;
    case 'DisputeReanchored': return `Committee draw moved to block ${d.anchor_block}`;
    case 'CommitteeDrawn': return `Committee drawn: ${list(d.members)}`;
    case 'VoteCommitted': return `Committee vote committed by ${d.member}`;
    case 'VoteRevealed': return `Committee vote revealed by ${d.member}`;
    case 'DisputeResolved': return `Dispute resolved: ${d.outcome}`;
    default: return '';
  }
}
