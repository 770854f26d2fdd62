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

/**
 * Fills the earnings section from GET /v1/accounts/{address} (the indexer's staking events): stake, credits,
 * withdrawals, slashes and what `withdraw` would pay now. Resolves to false when the server has no such API.
 */
export async function renderAccount(api, address, el, usdt) {
  let account;
  try {
    account = await api(`/v1/accounts/${address}`);
  } catch {
    return false;
  }
  const t = account.totals || {};
  const staked = BigInt(t.Staked || 0) - BigInt(t.UnstakeWithdrawn || 0) - BigInt(t.StakeSlashed || 0);
  const rows = [
    ['Withdrawable now', usdt(account.withdrawable)],
    ['Credited (rewards, fees, refunds)', usdt(t.Credited || '0')],
    ['Withdrawn', usdt(t.Withdrawn || '0')],
    ['Staked', usdt(staked.toString())],
    ['Locked as bonds', usdt((BigInt(t.StakeLocked || 0) - BigInt(t.StakeUnlocked || 0)).toString())],
    ['Slashed', usdt(t.StakeSlashed || '0')],
  ];
  const list = document.getElementById('account-totals');
  list.replaceChildren(...rows.flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
  const section = document.getElementById('earnings');
  section.removeAttribute('data-pending');
  section.classList.remove('placeholder');
  document.getElementById('earnings-note').textContent = 'From the market\'s staking events, as indexed:';
  return true;
}

/** Sum of base-unit decimal strings, as a string. */
export const sum = (values) => values.reduce((acc, v) => acc + BigInt(v || 0), 0n).toString();
