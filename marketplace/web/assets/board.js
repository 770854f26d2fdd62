// The job board: filters (state, requester, worker, min reward) in the URL, pages through `next_cursor`.
import { api, el, hexSpan, initHeader, jobLink, missingEndpoint, parseUsdt, stateBadge, status, usdt, when } from './app.js';

const PAGE_SIZE = 50;

async function load() {
  const params = new URLSearchParams(location.search);
  const form = document.getElementById('filters');
  for (const name of ['state', 'requester', 'worker', 'min_reward']) {
    if (params.has(name)) form.elements[name].value = params.get(name);
  }
  // The API takes base units; the form shows USDT.
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  for (const name of ['state', 'requester', 'worker', 'cursor']) {
    const v = (params.get(name) || '').trim();
    if (v) query.set(name, v);
  }
  const min = (params.get('min_reward') || '').trim();
  if (min) {
    const base = parseUsdt(min);
    if (base === null) {
      status('status', `Min reward: "${min}" is not an amount in USDT with at most 6 decimals.`, 'error');
      return;
    }
    query.set('min_reward', base);
  }
  status('status', 'Loading jobs…');
  let page;
  try {
    page = await api(`/v1/jobs?${query}`);
  } catch (err) {
    status('status', missingEndpoint(err) ? 'This server does not list jobs yet.' : `Could not load jobs: ${err.message}`, 'error');
    return;
  }
  const body = document.querySelector('#jobs tbody');
  body.replaceChildren(...page.jobs.map((job) => el('tr', { 'data-job-id': job.job_id },
    el('td', {}, jobLink(job.job_id)),
    el('td', {}, stateBadge(job.state)),
    el('td', { class: 'num' }, usdt(job.reward)),
    el('td', { class: 'num' }, String(job.total_steps ?? '—')),
    el('td', {}, hexSpan(job.requester)),
    el('td', {}, hexSpan(job.worker)),
    el('td', {}, when(job.deadline || job.open_until)),
  )));
  const filtered = ['state', 'requester', 'worker', 'min_reward'].some((n) => params.get(n));
  status('status', page.jobs.length
    ? `${page.jobs.length} job${page.jobs.length === 1 ? '' : 's'}${params.get('cursor') ? ' on this page' : ''}.`
    : filtered ? 'No job matches these filters.' : 'No jobs yet. Post the first one.');
  const pager = document.getElementById('pager');
  pager.replaceChildren();
  if (params.get('cursor')) {
    const first = new URLSearchParams(params);
    first.delete('cursor');
    pager.append(el('a', { href: `/?${first}`, id: 'first-page' }, '« First page'));
  }
  if (page.next_cursor) {
    const next = new URLSearchParams(params);
    next.set('cursor', page.next_cursor);
    pager.append(el('a', { href: `/?${next}`, id: 'next-page', rel: 'next' }, 'Next page »'));
  }
}

// Empty filters stay out of the URL, so shared links are short.
document.getElementById('filters').addEventListener('submit', (event) => {
  event.preventDefault();
  const data = new FormData(event.target);
  const params = new URLSearchParams();
  for (const [k, v] of data) if (String(v).trim()) params.set(k, String(v).trim());
  location.href = params.toString() ? `/?${params}` : '/';
});

initHeader();
load();
