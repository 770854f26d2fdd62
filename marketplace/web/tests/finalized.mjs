// A finished job's page, in headless Chromium:
//   TERN_WEB_JOB=<job id> TERN_WEB_VERIFIER=<address> node finalized.mjs <marketplace url> <anvil rpc url>
// The Rust side played the job to payout on chain (the service's keeper called finalize). The page must show it
// finalized, every sampled interval attested, the timeline's end, and an adapter link that downloads the adapter;
// the verifier's page must list the job with every interval it attested.
import { check, launch, newPage, screenshot } from './harness.mjs';

const [base] = process.argv.slice(2);
const jobId = process.env.TERN_WEB_JOB;
const verifier = process.env.TERN_WEB_VERIFIER;
if (!base || !jobId || !verifier) {
  console.error('usage: TERN_WEB_JOB=.. TERN_WEB_VERIFIER=.. node finalized.mjs <marketplace url> <rpc url>');
  process.exit(2);
}

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await newPage(context);
  await page.goto(`${base}/jobs/${jobId}`);
  await page.locator('#summary .state', { hasText: 'finalized' }).waitFor();
  const audit = (await page.locator('#audit-status').textContent()).trim();
  const match = audit.match(/^(\d+) of (\d+) sampled intervals attested/);
  check(match && match[1] === match[2] && Number(match[1]) > 0, `every sampled interval attested ("${audit}")`);
  const rows = await page.locator('#audit tbody tr[data-outcome="attested"]').count();
  check(rows === Number(match[1]), `one attested row per interval (${rows})`);
  check((await page.locator('#timeline li[data-kind="intervalsattested"]').count()) >= 1, 'the timeline shows the attestation');
  const loss = (await page.locator('#loss-desc').textContent());
  check(loss.includes('step'), `the loss curve is still shown after training ("${loss}")`);

  const link = page.locator('#adapter-download');
  const href = await link.getAttribute('href');
  check(/^\/v1\/blobs\/sha256:[0-9a-f]{64}$/.test(href), `the adapter link names its content id (${href})`);
  const adapter = await fetch(`${base}${href}`);
  check(adapter.status === 200, `the adapter downloads (${adapter.status})`);
  const bytes = new Uint8Array(await adapter.arrayBuffer()).length;
  await screenshot(page, 'job-finalized');
  check(page.pageErrors.length === 0, `no script errors (${page.pageErrors.join('; ')})`);

  const verify = await newPage(context);
  await verify.goto(`${base}/verify?address=${verifier}`);
  const row = verify.locator(`#audits tr[data-job-id="${jobId}"]`);
  await row.waitFor();
  const cells = await row.locator('td').allTextContents();
  check(cells[2] === 'verifier', `the verifier's role (${cells[2]})`);
  check(cells[3] === match[2] && cells[4] === match[2], `every interval assigned and attested (${cells[3]}, ${cells[4]})`);
  await screenshot(verify, 'verify-finalized');
  check(verify.pageErrors.length === 0, `no script errors on the verifier's page (${verify.pageErrors.join('; ')})`);
  console.log(`RESULT ${JSON.stringify({ attested: Number(match[1]), adapter_bytes: bytes, adapter: href })}`);
} catch (error) {
  console.error(error.stack || String(error));
  process.exitCode = 1;
} finally {
  await browser.close();
}
