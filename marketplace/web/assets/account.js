// The address a per-account page shows: ?address=, else the signed-in account, else the wallet's (no prompt).
import { session } from './app.js';

export async function accountAddress() {
  const given = new URLSearchParams(location.search).get('address');
  if (given && /^0x[0-9a-fA-F]{40}$/.test(given.trim())) return given.trim();
  const s = session();
  if (s) return s.address;
  try {
    const accounts = await window.ethereum?.request({ method: 'eth_accounts' });
    if (accounts?.length) return accounts[0];
  } catch { /* no wallet, or it refuses */ }
  return null;
}

/** Every job the list filter gives, following `next_cursor` up to `max` jobs. */
export async function allJobs(api, query, max = 500) {
  const jobs = [];
  let cursor = null;
  const seen = new Set();
  do {
    seen.add(cursor);
    const q = new URLSearchParams({ ...query, limit: '50' });
    if (cursor) q.set('cursor', cursor);
    const page = await api(`/v1/jobs?${q}`);
    jobs.push(...page.jobs);
    cursor = page.next_cursor;
  } while (cursor && !seen.has(cursor) && jobs.length < max);
  return jobs;
}

/** Sum of base-unit decimal strings, as a string. */
export const sum = (values) => values.reduce((acc, v) => acc + BigInt(v || 0), 0n).toString();
