// The job page's live loss curve, in headless Chromium:
//   TERN_WEB_JOB=<job id> TERN_WEB_WORKER_TOKEN=<worker session> node progress.mjs <marketplace url> <anvil rpc url>
// The job is claimed and has progress reports (the Rust test did that on chain and over the API). The page must
// draw them, then pick up a report sent while it is open (it polls while the job is claimed).
import { check, launch, newPage, screenshot } from './harness.mjs';

const [base] = process.argv.slice(2);
const jobId = process.env.TERN_WEB_JOB;
const token = process.env.TERN_WEB_WORKER_TOKEN;
if (!base || !jobId || !token) {
  console.error('usage: TERN_WEB_JOB=.. TERN_WEB_WORKER_TOKEN=.. node progress.mjs <marketplace url> <rpc url>');
  process.exit(2);
}

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await newPage(context);
  await page.goto(`${base}/jobs/${jobId}`);
  await page.locator('#summary .state', { hasText: 'claimed' }).waitFor();
  await page.locator('#progress-status', { hasText: /Step 3 of \d+/ }).waitFor();
  check(await page.locator('#loss-chart polyline.line').count() === 1, 'the loss curve is drawn');
  const points = (await page.locator('#loss-chart polyline.line').getAttribute('points')).trim().split(/\s+/);
  check(points.length === 3, `three points on the curve (${points.length})`);
  check((await page.locator('#loss-desc').textContent()).includes('to 2.5000 at step 3'), 'the chart describes itself');
  check((await page.locator('#timeline li[data-kind="jobclaimed"]').count()) === 1, 'the timeline shows the claim');

  // A report while the page is open appears without a reload.
  const report = await fetch(`${base}/v1/jobs/${jobId}/progress`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ step: 4, loss: 2.25, tokens_per_second: 150.0, eta_seconds: 96 }),
  });
  check(report.status === 204, `the worker's report is taken (${report.status})`);
  await page.locator('#progress-status', { hasText: /Step 4 of \d+/ }).waitFor({ timeout: 20_000 });
  const after = (await page.locator('#loss-chart polyline.line').getAttribute('points')).trim().split(/\s+/);
  check(after.length === 4, `four points after the live update (${after.length})`);
  await screenshot(page, 'job-progress');
  check(page.pageErrors.length === 0, `no script errors (${page.pageErrors.join('; ')})`);
  console.log(`RESULT ${JSON.stringify({ points: after.length })}`);
} catch (error) {
  console.error(error.stack || String(error));
  process.exitCode = 1;
} finally {
  await browser.close();
}
