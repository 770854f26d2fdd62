// Shared by every page: the API client, the wallet (EIP-1193) and the session, formatting, the page header.
// Plain ES module, no build step: the binary serves this file as is.

/** An API error: the JSON body's `error` ({code, message, fields?}) and the HTTP status. */
export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = error?.code || 'http_error';
    this.fields = error?.fields || [];
  }
}

const SESSION_KEY = 'tern.session';

/** The stored session ({token, address, expires_at}) if it has not expired. */
export function session() {
  try {
    const s = JSON.parse(localStorage.getItem(SESSION_KEY) || 'null');
    if (s && s.token && s.expires_at * 1000 > Date.now()) return s;
  } catch { /* a broken entry is no session */ }
  return null;
}

function setSession(s) {
  if (s) localStorage.setItem(SESSION_KEY, JSON.stringify(s));
  else localStorage.removeItem(SESSION_KEY);
  document.dispatchEvent(new CustomEvent('tern:session', { detail: s }));
}

/**
 * Calls the API. `body` is sent as JSON unless it is a Blob/ArrayBuffer (sent raw). The session's bearer token is
 * sent when `auth` is true. Resolves to the parsed JSON (or null for an empty body); rejects with ApiError.
 */
export async function api(path, { method = 'GET', body, auth = false, signal } = {}) {
  const headers = {};
  let payload;
  if (body instanceof Blob || body instanceof ArrayBuffer || ArrayBuffer.isView(body)) {
    headers['Content-Type'] = 'application/octet-stream';
    payload = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (auth) {
    const s = session();
    if (s) headers.Authorization = `Bearer ${s.token}`;
  }
  const response = await fetch(path, { method, headers, body: payload, signal });
  const text = await response.text();
  let json = null;
  if (text) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  if (!response.ok) {
    // A session the server no longer knows is gone: forget it so the header offers sign-in again.
    if (response.status === 401 && auth) setSession(null);
    throw new ApiError(response.status, json?.error);
  }
  return json;
}

/** The injected wallet (EIP-1193), or an error that says how to get one. */
export function wallet() {
  if (!window.ethereum) throw new Error('No wallet found: install a browser wallet (EIP-1193) to sign in.');
  return window.ethereum;
}

/** Asks the wallet for an account; resolves to its address. */
export async function connect() {
  const accounts = await wallet().request({ method: 'eth_requestAccounts' });
  if (!accounts || !accounts.length) throw new Error('The wallet gave no account.');
  return accounts[0];
}

function utf8Hex(text) {
  return '0x' + Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Signs in (EIP-4361): a nonce message for the wallet's account, signed with personal_sign. Resolves to the session. */
export async function signIn() {
  const address = await connect();
  const nonce = await api(`/v1/auth/nonce?address=${encodeURIComponent(address)}`, { method: 'POST' });
  const signature = await wallet().request({ method: 'personal_sign', params: [utf8Hex(nonce.message), address] });
  const s = await api('/v1/auth/login', { method: 'POST', body: { message: nonce.message, signature } });
  setSession(s);
  return s;
}

/** The current session, signing in first when there is none. */
export async function ensureSession() {
  return session() || signIn();
}

/** Ends the session here and on the server. */
export async function signOut() {
  try { await api('/v1/auth/logout', { method: 'POST', auth: true }); } catch { /* gone already */ }
  setSession(null);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A decimal or 0x quantity as the 0x hex quantity eth_sendTransaction wants. */
function quantity(value) {
  if (value === undefined || value === null || value === '') return '0x0';
  const s = String(value);
  return s.startsWith('0x') ? s : '0x' + BigInt(s).toString(16);
}

/**
 * Sends transactions in order from `from`, waiting for each receipt. `onStep(i, status, detail)` reports progress
 * ('sending', 'pending' with the hash, 'mined' with the receipt). Rejects when one reverts.
 */
export async function sendTransactions(transactions, from, onStep = () => {}) {
  const eth = wallet();
  const receipts = [];
  for (const [i, tx] of transactions.entries()) {
    onStep(i, 'sending');
    const hash = await eth.request({
      method: 'eth_sendTransaction',
      params: [{ from, to: tx.to, data: tx.data, value: quantity(tx.value) }],
    });
    onStep(i, 'pending', hash);
    let receipt = null;
    while (!receipt) {
      receipt = await eth.request({ method: 'eth_getTransactionReceipt', params: [hash] });
      if (!receipt) await sleep(1000);
    }
    if (receipt.status !== '0x1' && receipt.status !== 1) {
      onStep(i, 'reverted', receipt);
      throw new Error(`Transaction ${i + 1} (${tx.description || tx.to}) reverted: ${hash}`);
    }
    onStep(i, 'mined', receipt);
    receipts.push(receipt);
  }
  return receipts;
}

// ---------------------------------------------------------------- formatting

/** USDT base units (6 decimals, a decimal string) as "12.5 USDT". */
export function usdt(base) {
  if (base === null || base === undefined || base === '') return '—';
  let v;
  try { v = BigInt(base); } catch { return String(base); }
  const neg = v < 0n;
  if (neg) v = -v;
  const whole = v / 1000000n;
  let frac = (v % 1000000n).toString().padStart(6, '0').replace(/0+$/, '');
  if (frac.length < 2) frac = frac.padEnd(2, '0');
  return `${neg ? '-' : ''}${whole.toLocaleString('en-US')}.${frac} USDT`;
}

/** "12.5" USDT as base units ("12500000"), or null when it is not an amount with at most 6 decimals. */
export function parseUsdt(text) {
  const m = /^\s*(\d+)(?:\.(\d{0,6}))?\s*$/.exec(text ?? '');
  if (!m) return null;
  return (BigInt(m[1]) * 1000000n + BigInt((m[2] || '').padEnd(6, '0'))).toString();
}

/** A short form of a long hex string (address, hash) for display. */
export function short(hex) {
  if (!hex) return '—';
  return hex.length > 14 ? `${hex.slice(0, 8)}…${hex.slice(-6)}` : hex;
}

/** Creates an element: el('a', {href}, 'text', child...). Attributes starting with "on" become listeners. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** An address or hash shown short, with the whole value as its title (and copyable text for screen readers). */
export function hexSpan(hex, cls = 'hex') {
  if (!hex) return el('span', { class: 'none' }, '—');
  return el('span', { class: cls, title: hex, 'data-value': hex }, short(hex));
}

/** A unix time (seconds) as a <time> element. */
export function when(unix) {
  if (!unix) return el('span', { class: 'none' }, '—');
  const d = new Date(Number(unix) * 1000);
  return el('time', { datetime: d.toISOString() }, d.toLocaleString());
}

/** A state badge. */
export function stateBadge(state) {
  return el('span', { class: `state state-${state}` }, state);
}

/** A job link. */
export function jobLink(id) {
  return el('a', { href: `/jobs/${id}`, class: 'hex', title: id }, short(id));
}

/** Shows a message in the page's status region (role=status). kind: '', 'error', 'ok'. */
export function status(target, message, kind = '') {
  const node = typeof target === 'string' ? document.getElementById(target) : target;
  if (!node) return;
  node.textContent = message;
  node.className = `status ${kind}`.trim();
}

/** Whether an ApiError means the endpoint does not exist on this server yet. */
export function missingEndpoint(err) {
  // The route table's own fallbacks answer these codes; a handler's 404 names what it did not find.
  return err instanceof ApiError && (err.code === 'not_found' || err.code === 'method_not_allowed');
}

// ---------------------------------------------------------------- header

/** Wires the header: current page in the nav, the account area with sign-in / sign-out. */
export function initHeader() {
  const here = location.pathname === '/' || location.pathname.startsWith('/jobs/') ? '/' : location.pathname;
  for (const a of document.querySelectorAll('header nav a')) {
    if (a.getAttribute('href') === here) a.setAttribute('aria-current', 'page');
  }
  const area = document.getElementById('account');
  if (!area) return;
  const render = () => {
    const s = session();
    area.replaceChildren();
    if (s) {
      area.append(
        el('span', { class: 'who' }, 'Signed in as ', el('span', { class: 'hex', id: 'account-address', title: s.address }, short(s.address))),
        ' ',
        el('button', { type: 'button', id: 'sign-out', onclick: () => signOut() }, 'Sign out'),
      );
    } else {
      const msg = el('span', { id: 'account-status', role: 'status', class: 'status' });
      area.append(
        el('button', {
          type: 'button', id: 'sign-in',
          onclick: async () => {
            status(msg, 'Waiting for the wallet…');
            try { await signIn(); } catch (e) { status(msg, e.message, 'error'); }
          },
        }, 'Sign in with wallet'),
        ' ', msg,
      );
    }
  };
  document.addEventListener('tern:session', render);
  window.addEventListener('storage', (e) => { if (e.key === SESSION_KEY) render(); });
  render();
}
