// A finished job's page, in headless Chromium:
//   TERN_WEB_JOB=<job id> node finalized.mjs <marketplace url> <anvil rpc url>
// The Rust side played the job to payout on chain (the service's keeper called finalize). The page must show it
// finalized, every sampled interval attested, the timeline's end, and an adapter link that downloads the adapter.
import { check, launch, newPage, screenshot } from './harness.mjs';

const [base] = process.argv.slice(2);
const jobId = process.env.TERN_WEB_JOB;
if (!base || !jobId) {
  console.error('usage: TERN_WEB_JOB=.. node finalized.mjs <marketplace url> <rpc url>');
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
  console.log(`RESULT ${JSON.stringify({ attested: Number(match[1]), adapter_bytes: bytes, adapter: href })}`);
} catch (error) {
  console.error(error.stack || String(error));
  process.exitCode = 1;
} finally {
  await browser.close();
}
