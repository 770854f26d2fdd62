// Reading a job's chain events (GET /v1/jobs/{id} `events`): the audit's intervals, verifiers and outcomes.
// Event kinds are the contract's event names (ITernMarket.sol); they are compared loosely (case, "_" and "-"
// ignored) and data fields are read in camelCase or snake_case, so either spelling of the indexer's JSON works.

/** An event kind reduced to lowercase letters: "AuditStarted", "audit_started" -> "auditstarted". */
export const kindOf = (event) => String(event.kind || '').replace(/[^a-zA-Z]/g, '').toLowerCase();

/** A data field by its camelCase name, or its snake_case spelling. */
export function field(data, camel) {
  if (!data) return undefined;
  if (camel in data) return data[camel];
  const snake = camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return data[snake];
}

const same = (a, b) => typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();

/**
 * The audit as the events tell it: one row per sampled interval {index, interval, verifier, outcome, replaced[]},
 * plus the dispute committee members. Outcome: 'pending', 'attested', 'disputed', or the dispute's resolution.
 */
export function audit(events) {
  const rows = [];
  const committee = [];
  for (const event of events || []) {
    const data = event.data || {};
    switch (kindOf(event)) {
      case 'auditstarted': {
        const intervals = field(data, 'intervals') || [];
        const verifiers = field(data, 'verifiers') || [];
        rows.length = 0;
        intervals.forEach((interval, i) => rows.push({
          index: i, interval: Number(interval), verifier: verifiers[i], outcome: 'pending', replaced: [],
        }));
        break;
      }
      case 'intervalsattested': {
        const verifier = field(data, 'verifier');
        for (const i of field(data, 'indexes') || []) {
          const row = rows[Number(i)];
          if (row) { row.outcome = 'attested'; row.verifier = row.verifier || verifier; }
        }
        break;
      }
      case 'verifierreplaced': {
        const row = rows[Number(field(data, 'index'))];
        if (row) { row.replaced.push(field(data, 'previous')); row.verifier = field(data, 'replacement'); }
        break;
      }
      case 'disputeopened': {
        const row = rows[Number(field(data, 'index'))];
        if (row) { row.outcome = 'disputed'; row.challenger = field(data, 'challenger'); }
        break;
      }
      case 'committeedrawn':
        committee.push(...(field(data, 'members') || []));
        break;
      case 'disputeresolved': {
        const row = rows[Number(field(data, 'index'))];
        if (row) row.outcome = `dispute resolved: ${field(data, 'outcome')}`;
        break;
      }
      default:
    }
  }
  return { rows, committee };
}

/** What `address` did in a job's audit: {intervals, attested, disputes, roles[]}, or null when it had no part. */
export function verifierPart(events, address) {
  const { rows, committee } = audit(events);
  const mine = rows.filter((r) => same(r.verifier, address));
  const replacedOut = rows.filter((r) => r.replaced.some((p) => same(p, address)));
  const inCommittee = committee.some((m) => same(m, address));
  const challenged = rows.filter((r) => same(r.challenger, address));
  if (!mine.length && !replacedOut.length && !inCommittee && !challenged.length) return null;
  const roles = [];
  if (mine.length) roles.push('verifier');
  if (replacedOut.length) roles.push('replaced');
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
  switch (kindOf(event)) {
    case 'jobcreated': return `Posted by ${field(d, 'requester') || 'the requester'}`;
    case 'jobstatechanged': return `State: ${field(d, 'state')}`;
    case 'jobclaimed': return `Claimed by ${field(d, 'worker')}`;
    case 'resultsubmitted': return `Result submitted: trace root ${field(d, 'traceRoot')}, adapter ${field(d, 'adapterHash')}`;
    case 'auditstarted': return `Audit started: intervals ${(field(d, 'intervals') || []).join(', ')}`;
    case 'checkpointsrevealed': return `Worker revealed ${(field(d, 'startStateHashes') || []).length} checkpoint(s)`;
    case 'intervalsattested': return `${field(d, 'verifier')} attested sampled interval(s) #${(field(d, 'indexes') || []).map((i) => Number(i) + 1).join(', #')}`;
    case 'verifierreplaced': return `Verifier of sampled interval ${Number(field(d, 'index')) + 1} replaced by ${field(d, 'replacement')}`;
    case 'disputeopened': return `Dispute on sampled interval ${Number(field(d, 'index')) + 1} by ${field(d, 'challenger')}`;
    case 'committeedrawn': return `Committee drawn: ${(field(d, 'members') || []).join(', ')}`;
    case 'votecommitted': return `Committee vote committed by ${field(d, 'member')}`;
    case 'voterevealed': return `Committee vote revealed by ${field(d, 'member')}`;
    case 'disputeresolved': return `Dispute resolved: ${field(d, 'outcome')}`;
    default: return '';
  }
}
