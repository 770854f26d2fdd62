// The web page in a real headless Chromium against a real marketplace and anvil (started by the Rust test
// marketplace/tests/it/browser.rs, which passes their URLs):
//   node marketplace/web/tests/browser.mjs <marketplace url> <anvil rpc url>
// Flows: sign in through the injected wallet; a field error from live validation beside its field; dataset and
// model uploads hashed in the browser; posting a job (POST /v1/jobs, its transactions sent through the wallet);
// the job on the board and on its page. Prints one line `RESULT {json}` for the Rust side to check against the API.
// Exits non-zero on the first failed check.
import { check, fieldError, fieldInput, launch, newPage, screenshot, signIn, upload, walletContext, contentId } from './harness.mjs';

const [base, rpc] = process.argv.slice(2);
if (!base || !rpc) {
  console.error('usage: node browser.mjs <marketplace url> <anvil rpc url>');
  process.exit(2);
}
/** Anvil's dev account 1: the devnet's requester, funded with USDT. */
const REQUESTER = 1;

const browser = await launch();
const result = {};
try {
  const context = await walletContext(browser, rpc, REQUESTER);
  const page = await newPage(context);

  // The board: empty at first, with every filter labelled.
  await page.goto(`${base}/`);
  await page.getByText('No jobs yet').waitFor();
  for (const label of ['State', 'Requester', 'Worker', 'Min reward (USDT)']) {
    check(await page.getByLabel(label).count() === 1, `the board's ${label} filter has a label`);
  }
  await screenshot(page, 'board-empty');

  // Sign in through the wallet: nonce, personal_sign by anvil, login.
  await signIn(page);
  check((await page.locator('#account-address').getAttribute('title')).toLowerCase() === context.account.toLowerCase(),
    'the header shows the wallet account');
  check(context.walletLog.includes('personal_sign'), 'the wallet was asked to sign');
  result.address = context.account;

  // The post form: an invalid value gets its error beside the field, from the server's validation.
  await page.getByRole('link', { name: 'Post a job' }).click();
  await page.locator('#spec-form').waitFor();
  await fieldInput(page, 'training.steps').fill('0');
  await fieldError(page, 'training.steps').getByText('at least 1').waitFor();
  check(await fieldInput(page, 'training.steps').getAttribute('aria-invalid') === 'true', 'the steps input is marked invalid');
  await page.locator('#f-price-reward').fill('1.1234567');
  await fieldError(page, 'price.reward').getByText('at most 6 decimals').waitFor();
  await screenshot(page, 'post-errors');
  await fieldInput(page, 'training.steps').fill('100');
  await fieldError(page, 'training.steps').filter({ hasText: /./ }).waitFor({ state: 'detached' }).catch(() => {});
  await page.waitForFunction(() => !document.getElementById('e-training-steps').textContent);
  await page.locator('#f-price-reward').fill('5');

  // Uploads: hashed in the browser, stored under that id.
  const dataset = Buffer.from('To be, or not to be, that is the question.\n'.repeat(50));
  const model = Buffer.from('not really a GGUF model, but content-addressed all the same');
  const datasetId = await upload(page, 'u-dataset', 'hamlet.txt', dataset);
  check(datasetId === contentId(dataset), `the dataset's id is its sha256 (${datasetId})`);
  check(await fieldInput(page, 'dataset.id').inputValue() === datasetId, 'the dataset id fills its field');
  const modelId = await upload(page, 'u-base_model', 'model.gguf', model);
  check(modelId === contentId(model), 'the model id is its sha256');
  const stored = await page.request.get(`${base}/v1/blobs/${datasetId}`);
  check(stored.ok() && Buffer.compare(await stored.body(), dataset) === 0, 'the server serves the uploaded dataset');
  result.dataset_id = datasetId;

  // The spec is valid now: the summary shows the escrow (5 USDT reward + 3 x 0.25 USDT fees).
  await page.locator('#escrow').getByText('5.75 USDT').waitFor();
  result.spec_hash = (await page.locator('#spec-hash').textContent()).trim();
  check(/^0x[0-9a-f]{64}$/.test(result.spec_hash), `the summary shows the spec hash (${result.spec_hash})`);

  // Post: POST /v1/jobs, then each transaction through the wallet, then the indexed job.
  await page.getByRole('button', { name: 'Post job' }).click();
  const posted = page.locator('#posted-job');
  await posted.waitFor({ timeout: 120_000 });
  check(context.walletLog.filter((m) => m === 'eth_sendTransaction').length >= 2, 'approve and createJob went through the wallet');
  check(await page.locator('#transactions li[data-state="mined"]').count() >= 2, 'every transaction shows as confirmed');
  result.job_id = (await posted.textContent()).trim();
  await screenshot(page, 'post-done');

  // The board lists it, open, with its reward; the requester filter finds it.
  await page.goto(`${base}/?requester=${context.account}`);
  const row = page.locator(`#jobs tr[data-job-id="${result.job_id}"]`);
  await row.waitFor();
  check((await row.textContent()).includes('5.00 USDT'), 'the board shows the reward');
  check((await row.locator('.state').textContent()) === 'open', 'the board shows the job open');
  await screenshot(page, 'board');

  // Its page: summary and timeline from the indexed events.
  await row.getByRole('link').click();
  await page.locator('#timeline li[data-kind="jobcreated"]').waitFor();
  check((await page.locator('#summary .state').textContent()) === 'open', 'the job page shows the state');
  check((await page.locator('#summary').textContent()).includes('5.00 USDT'), 'the job page shows the reward');
  await screenshot(page, 'job');

  // The account pages load for this address without script errors.
  await page.goto(`${base}/devices`);
  await page.locator('#devices tbody tr').first().waitFor();
  await screenshot(page, 'devices');
  await page.goto(`${base}/verify`);
  await page.locator('#audits tbody tr').first().waitFor();
  await screenshot(page, 'verify');

  check(page.pageErrors.length === 0, `no script errors (${page.pageErrors.join('; ')})`);
  console.log(`RESULT ${JSON.stringify(result)}`);
} catch (error) {
  console.error(error.stack || String(error));
  process.exitCode = 1;
} finally {
  await browser.close();
}
