// A verifier's page: the jobs whose audit assigns this address (GET /v1/jobs?verifier=), what it attested in
// each, and its account.
import { api, el, hexSpan, initHeader, jobLink, missingEndpoint, stateBadge, status, usdt } from './app.js';
import { accountAddress, allJobs, renderAccount, sum } from './account.js';
import { verifierPart } from './events.js';

async function load() {
  const address = await accountAddress();
  if (!address) {
    status('status', 'Sign in with your wallet, or enter an address, to see its audits.');
    return;
  }
  document.getElementById('address').value = address;
  status('status', 'Reading the audits…');
  renderAccount(api, address, el, usdt);
  let jobs = [];
  try {
    jobs = await allJobs(api, { verifier: address });
  } catch (err) {
    status('status', missingEndpoint(err) ? 'This server does not list jobs yet.' : `Could not load jobs: ${err.message}`, 'error');
    return;
  }
  const mine = jobs.map((job) => ({ job, part: verifierPart(job, address) })).filter((x) => x.part);
  document.querySelector('#audits tbody').replaceChildren(...(mine.length ? mine.map(({ job, part }) => el('tr', { 'data-job-id': job.job_id },
    el('td', {}, jobLink(job.job_id)),
    el('td', {}, stateBadge(job.state)),
    el('td', {}, part.roles.join(', ')),
    el('td', { class: 'num' }, String(part.intervals)),
    el('td', { class: 'num' }, String(part.attested)),
    el('td', { class: 'num' }, usdt(job.verifier_fee)),
    el('td', {}, part.disputes ? String(part.disputes) : '—'),
  )) : [el('tr', {}, el('td', { colspan: 7 }, 'No audit has assigned this address.'))]));
  const fees = (pred) => sum(mine.filter(pred).map(({ job, part }) => (BigInt(job.verifier_fee || 0) * BigInt(part.attested)).toString()));
  const rows = [
    ['Fees of attested intervals, finalized jobs', usdt(fees(({ job }) => job.state === 'finalized'))],
    ['Fees of attested intervals, in flight', usdt(fees(({ job }) => !['finalized', 'slashed', 'refunded'].includes(job.state)))],
    ['Jobs audited', String(mine.length)],
  ];
  document.getElementById('earnings-summary').replaceChildren(...rows.flatMap(([t, v]) => [el('dt', {}, t), el('dd', {}, v)]));
  status('status', '');
  document.getElementById('status').append(`${mine.length} job(s) audited by `, hexSpan(address), '.');
}

initHeader();
document.addEventListener('tern:session', load);
load();
