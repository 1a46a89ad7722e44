// The /debug page as a person uses it: `wxpay serve --sandbox` serves it, headless Chromium
// (Debian's `chromium`, driven by playwright-core; nothing downloaded) loads it, and each
// classic mistake pasted into #input gives its problem code in #problems; a correct set
// gives none. A screenshot with problems shown is kept in target/debug-page.png.
// Needs the wxpay binary (cargo build -p wxpay-server) and npm run build first.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { vectors } from '../test/helpers.mjs';

const require = createRequire(import.meta.url);
const wx = require('../dist/index.cjs');
const wxV3 = require('../dist/v3.cjs');
const repo = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const targetDir = process.env.CARGO_TARGET_DIR || join(repo, 'target');
const binary = process.env.WXPAY_BIN || join(targetDir, 'debug', 'wxpay');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const required = process.env.WXPAY_REQUIRE_BROWSER === '1';
const missing = !existsSync(chromiumPath) ? `no Chromium at ${chromiumPath}` : !existsSync(binary) ? `no wxpay binary at ${binary}` : '';
if (missing && required) throw new Error(`the browser test is required (WXPAY_REQUIRE_BROWSER=1) but there is ${missing}`);

const APP_ID = 'wxd930ea5d5a258f4f';
const KEY = '192006250b4c09247ec02edce69f6a2d'; // the sandbox's (WeChat's documentation) key
const byName = Object.fromEntries(vectors.map((v) => [v.name, v]));
const keys = byName.v3_test_keys;

/** `wxpay serve --sandbox` on free ports in a fresh directory: its API URL. */
async function sandbox(t) {
  const dir = mkdtempSync(join(tmpdir(), 'wxpay-debug-page-'));
  const child = spawn(binary, ['serve', '--sandbox', '--bind', '127.0.0.1:0', '--sim-bind', '127.0.0.1:0'], {
    cwd: dir,
    env: { ...process.env, RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the sandbox did not start: ${out}`)), 20000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const api = /API:\s+(http:\/\/\S+)/.exec(out);
      if (api && out.includes('debug page:')) {
        clearTimeout(timer);
        resolve(api[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`the sandbox exited (${code}): ${out}`)));
  });
}

function v2Params() {
  return { appId: APP_ID, ...wx.buildPaymentParams({ appId: APP_ID, prepayId: 'wx30123456789012345678901234567890', key: KEY, signType: 'MD5' }) };
}

function v3Params() {
  const v = byName.v3_requestPayment_paySign_generated_key;
  const privateKey = keys[v.key_ref.replace('v3_test_keys.', '')];
  return { appId: v.appId, ...wxV3.buildV3PaymentParams({ appId: v.appId, prepayId: 'wx30123456789012345678901234567890', privateKey }) };
}

/** A v3 notify signed now with the test platform key (the vector's encrypted body). */
function v3Notify() {
  const n = byName.v3_notify_end_to_end;
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = crypto.randomBytes(16).toString('hex');
  const signature = crypto.sign('sha256', Buffer.from(`${timestamp}\n${nonce}\n${n.body}\n`), keys.platform_private_key_pem).toString('base64');
  return {
    headers: { 'Wechatpay-Timestamp': timestamp, 'Wechatpay-Nonce': nonce, 'Wechatpay-Signature': signature, 'Wechatpay-Serial': keys.platform_cert_serial_no, 'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048' },
    body: n.body,
    apiV3Key: n.apiv3_key,
  };
}

test('the debug page names each classic mistake, and none in a correct set', { skip: missing || false, timeout: 90000 }, async (t) => {
  const api = await sandbox(t);
  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  // A Content-Security-Policy refusal is a console error ("Refused to ..."): none allowed.
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/.test(message.text())) errors.push(message.text());
  });
  const response = await page.goto(`${api}/debug`);
  const headers = response.headers();
  assert.match(headers['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/);
  assert.match(headers['content-security-policy'], /frame-ancestors 'none'/);
  assert.doesNotMatch(headers['content-security-policy'], /unsafe-inline/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['x-frame-options'], 'DENY');
  assert.equal(headers['referrer-policy'], 'no-referrer');
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  // The stylesheet applied under the policy (inline style would have been refused).
  assert.equal(await page.$eval('#key', (el) => getComputedStyle(el).height), '80px');

  const check = async (input, key = '', apiV3Key = '') => {
    await page.fill('#input', typeof input === 'string' ? input : JSON.stringify(input, null, 2));
    await page.fill('#key', key);
    await page.fill('#apiv3-key', apiV3Key);
    await page.click('#check');
    return page.$$eval('#problems li[data-code]', (items) => items.map((li) => li.dataset.code));
  };

  const good = v2Params();
  const signed = (set, signType = 'MD5', key = KEY) => ({ ...good, paySign: wx.sign(set, key, signType) });
  const set = { appId: APP_ID, timeStamp: good.timeStamp, nonceStr: good.nonceStr, package: good.package, signType: 'MD5' };
  assert.deepEqual(await check(good, KEY), [], 'a correct v2 set');
  assert.equal(await page.textContent('#canonical'), wx.canonicalString(set));
  assert.match(await page.textContent('#signatures'), new RegExp(`expected: ${good.paySign}`));
  const v2Cases = [
    ['TIMESTAMP_MILLISECONDS', { ...good, timeStamp: `${good.timeStamp}000` }, ''],
    ['TIMESTAMP_NOT_STRING', { ...good, timeStamp: Number(good.timeStamp) }, ''],
    ['PACKAGE_FORMAT', { ...good, package: good.package.replace('prepay_id=', '') }, ''],
    ['PAYSIGN_LOWERCASE', { ...good, paySign: good.paySign.toLowerCase() }, ''],
    ['SIGN_TYPE_LENGTH_MISMATCH', { ...good, signType: 'HMAC-SHA256' }, ''],
    ['KEY_CASE_APPID', signed({ ...set, appId: undefined, appid: APP_ID }), KEY],
    ['APPID_NOT_SIGNED', signed({ ...set, appId: undefined }), KEY],
    ['OTHER_SIGN_TYPE', signed(set, 'HMAC-SHA256'), KEY],
    ['WRONG_KEY_LIKELY', signed(set, 'MD5', '00000000000000000000000000000000'), KEY],
  ];
  for (const [code, params, key] of v2Cases) {
    assert.ok((await check(params, key)).includes(code), code);
  }

  const v3 = v3Params();
  assert.deepEqual(await check(v3, keys.merchant_public_key_pem), [], 'a correct v3 set');
  assert.equal(await page.textContent('#canonical'), `${v3.appId}\n${v3.timeStamp}\n${v3.nonceStr}\n${v3.package}\n`);
  const v3Cases = [
    ['SIGN_TYPE_NOT_RSA', { ...v3, signType: 'MD5' }],
    ['TIMESTAMP_MILLISECONDS', { ...v3, timeStamp: `${v3.timeStamp}000` }],
    ['PAYSIGN_MISMATCH', { ...v3, nonceStr: `x${v3.nonceStr.slice(1)}` }],
  ];
  for (const [code, params] of v3Cases) {
    assert.ok((await check(params, keys.merchant_public_key_pem)).includes(code), code);
  }

  // Notifies: a v2 one checked with the wrong key, a v3 one genuine, then tampered.
  const paid = { appid: APP_ID, mch_id: '10000100', out_trade_no: '20261130000000000000000001', transaction_id: '4200000001202611300000000001', total_fee: '2800', openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', trade_type: 'JSAPI', bank_type: 'OTHERS', time_end: '20261130120000', return_code: 'SUCCESS', result_code: 'SUCCESS', nonce_str: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS' };
  const notify = wx.toXml({ ...paid, sign: wx.sign(paid, KEY) });
  assert.deepEqual(await check(notify, KEY), []);
  assert.equal((await check(notify, '00000000000000000000000000000000')).length, 1);
  const { apiV3Key, ...v3Notify3 } = v3Notify();
  assert.deepEqual(await check(v3Notify3, keys.platform_certificate_pem, apiV3Key), []);
  const tampered = await check({ ...v3Notify3, body: v3Notify3.body.replace('"id":"', '"id":"x') }, keys.platform_certificate_pem, apiV3Key);
  assert.equal(tampered.length, 1, JSON.stringify(tampered));

  // What a developer sees: the mistakes of a broken server, kept as a CI artifact.
  await check({ ...good, timeStamp: `${good.timeStamp}000`, paySign: good.paySign.toLowerCase() }, KEY);
  mkdirSync(targetDir, { recursive: true });
  await page.screenshot({ path: join(targetDir, 'debug-page.png'), fullPage: true });
  assert.deepEqual(errors, []);
});
