// Helpers for driving the web page in a real headless Chromium: launching it, a test wallet (EIP-1193) that
// forwards to anvil, and the page steps the flows share. Used by browser.mjs; extend the flows there.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

/** Chromium from the system (Debian's `chromium`), never a downloaded one. */
export const CHROMIUM = process.env.TERN_CHROMIUM || '/usr/bin/chromium';

/** Launches headless Chromium. */
export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}

let rpcId = 0;

/** One JSON-RPC call to `rpc`: {result} or {error}. */
export async function rpcCall(rpc, method, params = []) {
  const response = await fetch(rpc, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }),
  });
  const body = await response.json();
  return body.error ? { error: body.error } : { result: body.result };
}

/**
 * A browser context whose pages have `window.ethereum`: a minimal EIP-1193 provider that forwards every request to
 * anvil's JSON-RPC (its dev accounts are unlocked, so anvil itself answers personal_sign and eth_sendTransaction).
 * `eth_requestAccounts` and `eth_accounts` answer `account` (anvil's dev account number `accountIndex`). Requests go
 * through a Playwright binding, so the page's Content-Security-Policy (connect-src 'self') does not apply, as it
 * does not to a wallet extension. Every request is recorded in `context.walletLog` for assertions.
 */
export async function walletContext(browser, rpc, accountIndex, options = {}) {
  const accounts = (await rpcCall(rpc, 'eth_accounts')).result;
  const account = accounts[accountIndex];
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, ...options });
  context.walletLog = [];
  context.account = account;
  await context.exposeBinding('__ternWalletRpc', async (_source, method, params) => {
    context.walletLog.push(method);
    return rpcCall(rpc, method, params);
  });
  await context.addInitScript((address) => {
    const request = async ({ method, params }) => {
      if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [address];
      const answer = await window.__ternWalletRpc(method, params || []);
      if (answer.error) {
        const error = new Error(answer.error.message);
        error.code = answer.error.code;
        throw error;
      }
      return answer.result;
    };
    window.ethereum = { isTernTestWallet: true, request, on() {}, removeListener() {} };
  }, account);
  return context;
}

/** A page that fails the test on any uncaught script error, and echoes console errors to stderr. */
export async function newPage(context) {
  const page = await context.newPage();
  page.pageErrors = [];
  page.on('pageerror', (error) => { page.pageErrors.push(error.message); console.error(`page error: ${error.message}`); });
  page.on('console', (message) => { if (message.type() === 'error') console.error(`console: ${message.text()}`); });
  return page;
}

/** Signs in with the header's button; resolves when the header shows the account. */
export async function signIn(page) {
  await page.getByRole('button', { name: 'Sign in with wallet' }).click();
  await page.locator('#account-address').waitFor();
}

/** The content id of `bytes`, as the page computes it. */
export const contentId = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Chooses a file in an upload input of the post form and waits until it is uploaded; resolves to its id. */
export async function upload(page, inputId, name, bytes) {
  await page.setInputFiles(`#${inputId}`, { name, mimeType: 'application/octet-stream', buffer: bytes });
  await page.locator(`#${inputId}-status[data-uploaded]`).waitFor();
  return page.locator(`#${inputId}-status`).getAttribute('data-uploaded');
}

/** The text of a spec field's error slot (`training.steps` -> #e-training-steps). */
export function fieldError(page, field) {
  return page.locator(`#e-${field.replace(/\./g, '-')}`);
}

/** The input of a spec field (`training.steps` -> #f-training-steps). */
export function fieldInput(page, field) {
  return page.locator(`#f-${field.replace(/\./g, '-')}`);
}

/** Saves a full-page PNG under $TERN_WEB_SHOTS (when set) for looking at the layout; never part of a check. */
export async function screenshot(page, name) {
  const dir = process.env.TERN_WEB_SHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/** Fails with `message` unless `condition` holds. */
export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}
