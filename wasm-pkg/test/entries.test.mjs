// The three entry points (CommonJS, ESM, browser) expose the same API.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const KEY = '192006250b4c09247ec02edce69f6a2d';
const params = { appid: 'wxd930ea5d5a258f4f', mch_id: '10000100', device_info: '1000', body: 'test', nonce_str: 'ibuaiVcKdpRxkhJA' };
const expected = '9A0A8659F005D6984697E2CA0A9CF3B7';

test('require and import give the same API', async () => {
  const cjs = require('wxpay-sign');
  const esm = await import('wxpay-sign');
  assert.equal(cjs.sign(params, KEY), expected);
  assert.equal(esm.sign(params, KEY), expected);
  assert.equal(esm.default.sign, cjs.sign);
  await esm.init();
  assert.deepEqual(Object.keys(cjs).sort(), Object.keys(esm.default).sort());
});

test('the browser entry works once init() is given the wasm', async () => {
  const browser = await import('../dist/browser.mjs');
  const wasm = readFileSync(fileURLToPath(new URL('../dist/web/wxpay_wasm_bg.wasm', import.meta.url)));
  await browser.init({ module_or_path: wasm });
  assert.equal(browser.sign(params, KEY), expected);
  assert.equal(browser.checkPaymentParams({}, {}).ok, false);
});

test('package.json ships only what it lists', () => {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8'));
  for (const file of pkg.files) {
    assert.ok(readFileSync(fileURLToPath(new URL(`../${file}`, import.meta.url))).length > 0, file);
  }
  assert.deepEqual(Object.keys(pkg.exports['.']), ['types', 'browser', 'import', 'require']);
  // "MIT OR Apache-2.0": both texts ship.
  assert.equal(pkg.license, 'MIT OR Apache-2.0');
  for (const license of ['dist/LICENSE-MIT', 'dist/LICENSE-APACHE']) {
    assert.ok(pkg.files.includes(license), license);
  }
  const apache = readFileSync(fileURLToPath(new URL('../dist/LICENSE-APACHE', import.meta.url)), 'utf8');
  assert.match(apache, /Apache License\s+Version 2\.0/);
});
