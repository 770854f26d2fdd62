// One job: summary, result and adapter download, the live loss curve (polled while the job trains), the audit,
// and the timeline of its chain events.
import { ApiError, api, el, hexSpan, initHeader, missingEndpoint, stateBadge, status, usdt, when } from './app.js';
import { drawLossCurve } from './chart.js';
import { audit, describe, kindOf } from './events.js';

const TERMINAL = new Set(['finalized', 'slashed', 'refunded', 'expired']);
const PROGRESS_EVERY_MS = 3000;
const JOB_EVERY_MS = 5000;

const jobId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] || '');
let job = null;
const points = [];

function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.max(0, Math.round(Number(seconds)));
  const h = Math.floor(s / 3600);
  const min = Math.floor((s % 3600) / 60);
  return h ? `${h} h ${min} min` : min ? `${min} min ${s % 60} s` : `${s} s`;
}

function facts(dl, rows) {
  dl.replaceChildren(...rows.flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
}

/** The adapter's content id: the chain's adapterHash is the sha256 of the adapter file. */
const adapterId = (hash) => `sha256:${hash.replace(/^0x/, '').toLowerCase()}`;

function renderJob() {
  document.title = `Job ${jobId.slice(0, 10)}… · Tern`;
  facts(document.getElementById('summary'), [
    ['State', stateBadge(job.state)],
    ['Requester', hexSpan(job.requester)],
    ['Worker', hexSpan(job.worker)],
    ['Reward', usdt(job.reward)],
    ['Verifier fee', `${usdt(job.verifier_fee)} per sampled interval`],
    ['Worker bond', usdt(job.worker_bond)],
    ['Steps', `${job.total_steps} (checkpoint every ${job.checkpoint_interval}, ${job.sample_count} sampled)`],
    ['Open until', when(job.open_until)],
    ['Time to train', duration(job.train_duration)],
    ['Current deadline', when(job.deadline)],
    ['Spec', el('a', { href: `/v1/specs/${job.spec_hash}`, class: 'hex', title: job.spec_hash }, `${job.spec_hash.slice(0, 10)}…`)],
  ]);
  facts(document.getElementById('result'), [
    ['Trace root', hexSpan(job.trace_root)],
    ['Adapter', job.adapter_hash
      ? el('a', { href: `/v1/blobs/${adapterId(job.adapter_hash)}`, id: 'adapter-download', download: `adapter-${jobId.slice(2, 10)}.gguf` },
        'Download adapter')
      : el('span', { class: 'none' }, 'not submitted yet')],
    ['Adapter hash', hexSpan(job.adapter_hash)],
    ['Last change', `block ${job.updated_block ?? '—'}`],
  ]);
  renderAudit();
  renderTimeline();
}

function renderAudit() {
  const { rows, committee } = audit(job);
  const k = Number(job.checkpoint_interval) || 0;
  document.querySelector('#audit tbody').replaceChildren(...rows.map((row) => el('tr', { 'data-outcome': row.outcome },
    el('td', { class: 'num' }, String(row.index + 1)),
    el('td', { class: 'num' }, String(row.interval)),
    el('td', {}, k ? `${row.interval * k}–${(row.interval + 1) * k}` : '—'),
    el('td', {}, hexSpan(row.verifier), row.replaced.length ? el('span', { class: 'none' }, ` (replaced ${row.replaced.length}×)`) : ''),
    el('td', {}, row.outcome),
  )));
  const attested = rows.filter((r) => r.outcome === 'attested').length;
  const disputed = rows.filter((r) => r.outcome.startsWith('disput')).length;
  status('audit-status', rows.length
    ? `${attested} of ${rows.length} sampled intervals attested${disputed ? `, ${disputed} disputed` : ''}`
      + `${committee.length ? `; dispute committee: ${committee.length} members` : ''}.`
    : 'No audit has started.', disputed ? 'error' : attested === rows.length && rows.length ? 'ok' : '');
}

function renderTimeline() {
  const list = document.getElementById('timeline');
  const events = job.events || [];
  if (!events.length) {
    list.replaceChildren(el('li', {}, 'No events indexed yet.'));
    return;
  }
  list.replaceChildren(...events.map((e) => el('li', { 'data-kind': kindOf(e) },
    el('strong', {}, e.kind), ' ', el('span', {}, describe(e)),
    el('div', { class: 'meta' }, `block ${e.block_number} · tx `, hexSpan(e.tx_hash)),
  )));
}

function renderProgress() {
  drawLossCurve(document.getElementById('loss-chart'), points, Number(job?.total_steps) || 0);
  const last = points[points.length - 1];
  status('progress-status', last
    ? `Step ${last.step} of ${job?.total_steps ?? '?'}: loss ${Number(last.loss).toFixed(4)}, `
      + `${Math.round(last.tokens_per_second)} tokens/s, ETA ${duration(last.eta_seconds)}.`
    : job?.state === 'open' ? 'Waiting for a worker to claim the job.' : 'No progress reported.');
  document.querySelector('#progress-table tbody').replaceChildren(...points.slice(-200).map((p) => el('tr', {},
    el('td', { class: 'num' }, String(p.step)),
    el('td', { class: 'num' }, Number(p.loss).toFixed(4)),
    el('td', { class: 'num' }, String(Math.round(p.tokens_per_second))),
    el('td', { class: 'num' }, duration(p.eta_seconds)),
    el('td', {}, when(p.reported_at)),
  )));
}

async function fetchJob() {
  try {
    job = await api(`/v1/jobs/${encodeURIComponent(jobId)}`);
    status('status', '');
    renderJob();
  } catch (err) {
    if (missingEndpoint(err)) status('status', 'This server does not serve jobs yet.', 'error');
    else if (err instanceof ApiError && err.status === 404) status('status', 'No such job (a new job appears once its transaction is indexed).', 'error');
    else status('status', `Could not load the job: ${err.message}`, 'error');
  }
}

async function fetchProgress() {
  const after = points.length ? points[points.length - 1].step : 0; // steps start at 1
  try {
    const page = await api(`/v1/jobs/${encodeURIComponent(jobId)}/progress?after_step=${after}`);
    for (const p of page.points || []) if (!points.length || p.step > points[points.length - 1].step) points.push(p);
  } catch (err) {
    if (!missingEndpoint(err) && !(err instanceof ApiError && err.status === 404)) {
      status('progress-status', `Could not load progress: ${err.message}`, 'error');
      return;
    }
  }
  renderProgress();
}

// Polls only while the tab is visible; progress only while a worker trains.
async function tick() {
  if (!document.hidden && job && !TERMINAL.has(job.state)) {
    await fetchJob();
  }
  setTimeout(tick, JOB_EVERY_MS);
}

async function progressTick() {
  if (!document.hidden && job && job.state === 'claimed') await fetchProgress();
  setTimeout(progressTick, PROGRESS_EVERY_MS);
}

initHeader();
document.getElementById('job-id').textContent = jobId;
if (!/^0x[0-9a-fA-F]{64}$/.test(jobId)) {
  status('status', 'This is not a job id (0x and 64 hex digits).', 'error');
} else {
  await fetchJob();
  if (job) {
    await fetchProgress();
    setTimeout(tick, JOB_EVERY_MS);
    setTimeout(progressTick, PROGRESS_EVERY_MS);
  }
}
