// A device owner's page: the address's devices, the jobs it trained, and what those jobs say about earnings
// until the per-account earnings API exists.
import { api, el, hexSpan, initHeader, jobLink, missingEndpoint, session, stateBadge, status, usdt, when } from './app.js';
import { accountAddress, allJobs, renderAccount, sum } from './account.js';

const IN_FLIGHT = new Set(['claimed', 'submitted', 'auditing', 'verified', 'disputed']);

function gib(bytes) {
  return bytes ? `${(Number(bytes) / 2 ** 30).toFixed(1)} GiB` : '—';
}

async function loadDevices(address) {
  const { devices } = await api(`/v1/devices?owner=${address}`);
  const mine = session()?.address?.toLowerCase() === address.toLowerCase();
  document.querySelector('#devices tbody').replaceChildren(...(devices.length ? devices.map((d) => el('tr', { 'data-device-id': d.device_id },
    el('th', { scope: 'row' }, d.name),
    el('td', {}, d.probe.backend),
    el('td', {}, d.probe.adapter),
    el('td', { class: 'num' }, gib(d.probe.memory_bytes)),
    el('td', { class: 'num' }, String(d.probe.threads)),
    el('td', { class: 'num' }, d.probe.tokens_per_second ? String(Math.round(d.probe.tokens_per_second)) : '—'),
    el('td', {}, when(d.last_seen_at)),
    el('td', {}, mine ? el('button', {
      type: 'button', class: 'secondary', 'aria-label': `Remove ${d.name}`,
      onclick: async (event) => {
        event.target.disabled = true;
        try {
          await api(`/v1/devices/${d.device_id}`, { method: 'DELETE', auth: true });
          await loadDevices(address);
        } catch (err) {
          status('status', `Could not remove ${d.name}: ${err.message}`, 'error');
          event.target.disabled = false;
        }
      },
    }, 'Remove') : ''),
  )) : [el('tr', {}, el('td', { colspan: 8 }, 'No devices registered for this address.'))]));
}

async function loadJobs(address) {
  let jobs;
  try {
    jobs = await allJobs(api, { worker: address });
  } catch (err) {
    const msg = missingEndpoint(err) ? 'This server does not list jobs yet.' : `Could not load jobs: ${err.message}`;
    document.querySelector('#jobs tbody').replaceChildren(el('tr', {}, el('td', { colspan: 5 }, msg)));
    return;
  }
  document.querySelector('#jobs tbody').replaceChildren(...(jobs.length ? jobs.map((j) => el('tr', { 'data-job-id': j.job_id },
    el('td', {}, jobLink(j.job_id)),
    el('td', {}, stateBadge(j.state)),
    el('td', { class: 'num' }, usdt(j.reward)),
    el('td', { class: 'num' }, usdt(j.worker_bond)),
    el('td', {}, when(j.deadline)),
  )) : [el('tr', {}, el('td', { colspan: 5 }, 'This address has not trained any job.'))]));
  const by = (pred) => jobs.filter(pred);
  const rows = [
    ['Rewards of finalized jobs', usdt(sum(by((j) => j.state === 'finalized').map((j) => j.reward)))],
    ['Rewards in flight', usdt(sum(by((j) => IN_FLIGHT.has(j.state)).map((j) => j.reward)))],
    ['Bonds locked in flight', usdt(sum(by((j) => IN_FLIGHT.has(j.state)).map((j) => j.worker_bond)))],
    ['Bonds of slashed jobs', usdt(sum(by((j) => j.state === 'slashed').map((j) => j.worker_bond)))],
    ['Jobs trained', String(jobs.length)],
  ];
  document.getElementById('earnings-summary').replaceChildren(...rows.flatMap(([t, v]) => [el('dt', {}, t), el('dd', {}, v)]));
}

async function load() {
  const address = await accountAddress();
  if (!address) {
    status('status', 'Sign in with your wallet, or enter an address, to see its devices.');
    return;
  }
  document.getElementById('address').value = address;
  status('status', 'Loading…');
  try {
    await Promise.all([loadDevices(address), loadJobs(address), renderAccount(api, address, el, usdt)]);
    status('status', '');
    document.getElementById('status').append('Showing ', hexSpan(address), '.');
  } catch (err) {
    status('status', `Could not load: ${err.message}`, 'error');
  }
}

initHeader();
document.addEventListener('tern:session', load);
load();
