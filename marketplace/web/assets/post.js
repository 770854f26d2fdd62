// The post form: builds a job spec from the fields, validates it live through POST /v1/specs/validate (each
// error shown beside its field), uploads base model and dataset files as content-addressed blobs, then signs in,
// calls POST /v1/jobs and sends its transactions through the wallet.
import {
  ApiError, api, el, ensureSession, initHeader, missingEndpoint, parseUsdt, sendTransactions, session, status, usdt,
} from './app.js';

const form = document.getElementById('spec-form');
const touched = new Set();
let showAll = false;
let lastResult = null;
let validation = 0;

const value = (name) => form.elements[name]?.value ?? '';

/** A number field: a number when it reads as one, else the raw text, so the server names the bad field. */
function num(name) {
  const text = value(name).trim();
  if (text === '') return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
}

/** Errors found here, before the server sees the spec: amounts and times the form converts. */
function localErrors() {
  const errors = [];
  for (const name of ['price.reward', 'price.verifier_fee', 'price.worker_bond']) {
    if (parseUsdt(value(name)) === null) {
      errors.push({ field: name, message: 'Write an amount in USDT with at most 6 decimals, e.g. 5 or 0.25.' });
    }
  }
  if (!value('deadlines.open_until')) errors.push({ field: 'deadlines.open_until', message: 'Choose a date and time.' });
  return errors;
}

/**
 * A stand-in for an empty content id during live validation: a missing id is a type error, and the server stops
 * at type errors, so without it no value error (steps, price, ...) would show until both files are chosen.
 */
const PENDING_ID = `sha256:${'0'.repeat(64)}`;

/** The spec the fields describe (protocol/src/spec.rs); `live` fills content ids not yet given with PENDING_ID. */
export function buildSpec(live = false) {
  // An amount the form cannot read is reported here (localErrors); live, a stand-in keeps it from hiding the
  // server's value checks of the other fields behind a type error.
  const amount = (name) => parseUsdt(value(name)) ?? (live ? '1' : value(name));
  const id = (name) => value(name).trim() || (live && !showAll && !touched.has(name) ? PENDING_ID : '');
  const openUntil = value('deadlines.open_until') ? Math.floor(new Date(value('deadlines.open_until')).getTime() / 1000) : null;
  const hours = num('deadlines.train_duration');
  return {
    version: 1,
    base_model: { id: id('base_model.id'), quant: value('base_model.quant').trim() },
    dataset: { id: id('dataset.id'), format: value('dataset.format') },
    lora: {
      rank: num('lora.rank'),
      alpha: num('lora.alpha'),
      targets: [...form.querySelectorAll('input[name="lora.targets"]:checked')].map((c) => c.value),
      init_seed: num('lora.init_seed'),
    },
    training: {
      steps: num('training.steps'),
      batch_size: num('training.batch_size'),
      seq_len: num('training.seq_len'),
      schedule: {
        decay: value('training.schedule.decay'),
        peak: num('training.schedule.peak'),
        min: num('training.schedule.min'),
        warmup_steps: num('training.schedule.warmup_steps'),
      },
      optimizer: {
        name: value('training.optimizer.name'),
        beta1: num('training.optimizer.beta1'),
        beta2: num('training.optimizer.beta2'),
        eps: num('training.optimizer.eps'),
        weight_decay: num('training.optimizer.weight_decay'),
      },
      data_seed: num('training.data_seed'),
      rounding_seed: num('training.rounding_seed'),
    },
    verification: {
      checkpoint_interval: num('verification.checkpoint_interval'),
      sample_count: num('verification.sample_count'),
      verifiers: num('verification.verifiers'),
    },
    price: {
      reward: amount('price.reward'),
      verifier_fee: amount('price.verifier_fee'),
      worker_bond: amount('price.worker_bond'),
    },
    deadlines: {
      open_until: openUntil,
      train_duration: typeof hours === 'number' ? Math.round(hours * 3600) : hours,
    },
  };
}

/** The error slot of a spec path: the field's own, else its nearest parent's (lora.targets[2] -> lora.targets). */
function slotFor(field) {
  let path = field;
  while (path) {
    const slot = document.getElementById(`e-${path.replace(/\./g, '-')}`);
    if (slot) return slot;
    path = path.replace(/(\[\d+\]|\.[^.[\]]*)$/, '');
    if (path === field) break;
  }
  return null;
}

function showErrors(errors) {
  for (const slot of form.querySelectorAll('.field-error[data-field]')) slot.textContent = '';
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  const general = [];
  for (const { field, message } of errors) {
    const slot = slotFor(field);
    const visible = showAll || [...touched].some((t) => field === t || field.startsWith(`${t}.`) || field.startsWith(`${t}[`)
      || (slot && slot.dataset.field === t));
    if (!visible) continue;
    if (slot) {
      slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
      const input = document.getElementById(`f-${slot.dataset.field.replace(/\./g, '-')}`);
      input?.setAttribute('aria-invalid', 'true');
    } else {
      general.push(field ? `${field}: ${message}` : message);
    }
  }
  document.getElementById('form-errors').replaceChildren(...general.map((m) => el('li', {}, m)));
}

/** Validates the spec on the server and shows the outcome; resolves to {spec, valid, result}. */
async function validate() {
  const mine = ++validation;
  const spec = buildSpec(true);
  const local = localErrors();
  let remote = [];
  let result = null;
  try {
    result = await api('/v1/specs/validate', { method: 'POST', body: spec });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    remote = err.fields.length ? err.fields : [{ field: '', message: err.message }];
  }
  if (mine !== validation) return null; // a newer validation is under way
  const errors = [...local, ...remote.filter((r) => !local.some((l) => l.field === r.field))];
  showErrors(errors);
  lastResult = errors.length ? null : result;
  document.getElementById('escrow').textContent = result ? usdt(result.escrow) : '—';
  const pending = spec.base_model.id === PENDING_ID || spec.dataset.id === PENDING_ID;
  document.getElementById('spec-hash').textContent = result && !pending ? result.spec_hash
    : pending ? 'once the model and dataset are given' : '—';
  return { spec, valid: !errors.length, result, errors };
}

let timer = null;
function scheduleValidation(event) {
  const name = event.target.name || event.target.dataset.target;
  if (name) touched.add(name);
  clearTimeout(timer);
  timer = setTimeout(() => validate().catch((e) => status('status', e.message, 'error')), 300);
}
form.addEventListener('input', scheduleValidation);
form.addEventListener('change', scheduleValidation);

// ---------------------------------------------------------------- uploads

async function sha256Hex(buffer) {
  if (!crypto.subtle) throw new Error('Hashing needs a secure context: open this page over HTTPS (or localhost).');
  const digest = await crypto.subtle.digest('SHA-256', buffer);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

for (const input of form.querySelectorAll('input[type="file"][data-target]')) {
  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    const note = document.getElementById(`${input.id}-status`);
    if (!file) return;
    try {
      status(note, `Hashing ${file.name} (${file.size.toLocaleString()} bytes)…`);
      const bytes = await file.arrayBuffer();
      const id = `sha256:${await sha256Hex(bytes)}`;
      const target = form.elements[input.dataset.target];
      target.value = id;
      touched.add(input.dataset.target);
      validate().catch(() => {});
      status(note, `Hashed: ${id}. Signing in to upload…`);
      await ensureSession();
      status(note, `Uploading ${file.name}…`);
      const stored = await api(`/v1/blobs/${id}`, { method: 'PUT', body: bytes, auth: true });
      status(note, `${stored.created ? 'Uploaded' : 'Already stored'}: ${file.name} as ${stored.content_id}.`, 'ok');
      note.dataset.uploaded = stored.content_id;
    } catch (err) {
      status(note, `Upload failed: ${err.message}`, 'error');
    }
  });
}

// ---------------------------------------------------------------- posting

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until the indexer lists the new job: the requester's job with this spec hash. */
async function waitForJob(requester, specHash, seen) {
  for (let i = 0; i < 120; i++) {
    try {
      const page = await api(`/v1/jobs?requester=${requester}&limit=50`);
      const job = page.jobs.find((j) => j.spec_hash === specHash && !seen.has(j.job_id));
      if (job) return job;
    } catch { /* not indexed yet */ }
    await sleep(1000);
  }
  return null;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = document.getElementById('post-job');
  showAll = true;
  button.disabled = true;
  const txList = document.getElementById('transactions');
  txList.replaceChildren();
  try {
    const checked = await validate();
    if (!checked?.valid) {
      status('status', 'Fix the fields marked above.', 'error');
      form.querySelector('[aria-invalid="true"]')?.focus();
      return;
    }
    status('status', 'Signing in with your wallet…');
    const s = await ensureSession();
    status('status', 'Preparing the transactions…');
    let prepared;
    try {
      prepared = await api('/v1/jobs', { method: 'POST', body: { spec: checked.spec }, auth: true });
    } catch (err) {
      if (missingEndpoint(err)) throw new Error('This server does not take jobs yet.');
      if (err instanceof ApiError && err.fields.length) { showErrors(err.fields); }
      throw err;
    }
    // The wallet must be on the market's chain.
    const chain = await window.ethereum.request({ method: 'eth_chainId' });
    if (Number(chain) !== Number(prepared.chain_id)) {
      await window.ethereum.request({ method: 'wallet_switchEthereumChain', params: [{ chainId: `0x${Number(prepared.chain_id).toString(16)}` }] });
    }
    const seen = new Set();
    try {
      const before = await api(`/v1/jobs?requester=${s.address}&limit=50`);
      for (const j of before.jobs) seen.add(j.job_id);
    } catch { /* listing is optional here */ }
    const items = prepared.transactions.map((tx, i) => el('li', { 'data-index': i }, `${tx.description || `Transaction ${i + 1}`}: waiting`));
    txList.replaceChildren(...items);
    await sendTransactions(prepared.transactions, s.address, (i, state, detail) => {
      const label = prepared.transactions[i].description || `Transaction ${i + 1}`;
      const text = { sending: 'confirm it in your wallet', pending: `sent (${detail}), waiting for a block`,
        mined: 'confirmed', reverted: 'reverted' }[state];
      items[i].textContent = `${label}: ${text}`;
      items[i].dataset.state = state;
      status('status', `${label}: ${text}`);
    });
    status('status', 'Funded. Waiting for the job to be indexed…');
    const job = await waitForJob(s.address, prepared.spec_hash, seen);
    if (job) {
      status('status', '', 'ok');
      document.getElementById('status').append('Job posted: ', el('a', { href: `/jobs/${job.job_id}`, id: 'posted-job' }, job.job_id));
    } else {
      status('status', 'The transactions are confirmed; the job will appear on the board once indexed.', 'ok');
    }
  } catch (err) {
    status('status', err.message || String(err), 'error');
  } finally {
    button.disabled = false;
  }
});

// Defaults that depend on now: claims open for a week.
const inAWeek = new Date(Date.now() + 7 * 24 * 3600 * 1000);
inAWeek.setSeconds(0, 0);
const local = new Date(inAWeek.getTime() - inAWeek.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
form.elements['deadlines.open_until'].value = local;

initHeader();
if (session()) document.getElementById('post-job').textContent = 'Post job';
document.addEventListener('tern:session', () => {
  document.getElementById('post-job').textContent = session() ? 'Post job' : 'Sign in and post job';
});
validate().catch(() => {});
