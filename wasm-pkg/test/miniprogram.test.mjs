// wxpay-sign/miniprogram: the mini program entries (miniprogram_dist/index.js and v3.js)
// loaded in a node:vm context shaped like WeChat's JS runtime: WXWebAssembly (a test double
// reading the package's brotli wasm by its code-package path) and none of WebAssembly,
// TextEncoder, TextDecoder, fetch, URL or Node's built-ins. Every call must give what the
// Node entry gives.
import test from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { readFileSync } from 'node:fs';
import { brotliDecompressSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { vectors } from './helpers.mjs';

const require = createRequire(import.meta.url);
const node = require('../dist/index.cjs');
const nodeV3 = require('../dist/v3.cjs');
const dist = fileURLToPath(new URL('../miniprogram_dist/', import.meta.url));
const byName = Object.fromEntries(vectors.map((v) => [v.name, v]));
// Results come from another realm (their prototypes differ): compare them as data.
const plain = (value) => JSON.parse(JSON.stringify(value));
const FORBIDDEN = ['WebAssembly', 'TextEncoder', 'TextDecoder', 'fetch', 'URL', 'process', 'Buffer', 'require', 'setImmediate'];

/** A context like a mini program's: after 构建 npm, the package sits at /miniprogram_npm/wxpay-sign/. */
function miniProgram() {
  const opened = [];
  const realWebAssembly = WebAssembly;
  const context = vm.createContext({ console });
  // V8 gives every context WebAssembly; a mini program has none.
  vm.runInContext('delete globalThis.WebAssembly;', context);
  context.WXWebAssembly = {
    instantiate(path, imports) {
      opened.push(path);
      const prefix = '/miniprogram_npm/wxpay-sign/';
      if (!path.startsWith(prefix)) return Promise.reject(new Error(`no file at ${path} in the code package`));
      const file = readFileSync(dist + path.slice(prefix.length));
      const bytes = path.endsWith('.br') ? brotliDecompressSync(file) : file;
      return realWebAssembly.instantiate(bytes, imports);
    },
  };
  for (const name of FORBIDDEN) {
    assert.equal(vm.runInContext(`typeof ${name}`, context), 'undefined', name);
  }
  const load = (file) => {
    const module = { exports: {} };
    const wrapper = vm.runInContext(`(function (module, exports) {${readFileSync(dist + file, 'utf8')}\n})`, context, { filename: file });
    wrapper(module, module.exports);
    return module.exports;
  };
  return { load, opened };
}

test('the v2 entry signs, verifies and explains like the Node entry, with no WebAssembly global', async () => {
  const { load, opened } = miniProgram();
  const mini = load('index.js');
  await mini.init();
  await mini.init(); // once is enough; again is harmless
  assert.deepEqual(opened, ['/miniprogram_npm/wxpay-sign/wxpay_sign.wasm.br']);
  assert.deepEqual(Object.keys(mini).sort(), Object.keys(node).sort());

  const key = '192006250b4c09247ec02edce69f6a2d';
  // Chinese text and an emoji cross the boundary through the entry's own UTF-8 code.
  const params = { appid: 'wxd930ea5d5a258f4f', mch_id: '10000100', body: '拿铁咖啡 ☕ 😀', total_fee: 2800, nonce_str: 'ibuaiVcKdpRxkhJA' };
  for (const signType of ['MD5', 'HMAC-SHA256']) {
    const sign = mini.sign(params, key, signType);
    assert.equal(sign, node.sign(params, key, signType), signType);
    assert.equal(mini.verifySign({ ...params, sign }, key, signType), true);
    assert.equal(mini.verifySign({ ...params, body: '拿铁咖啡', sign }, key, signType), false);
  }
  assert.equal(mini.canonicalString(params), node.canonicalString(params));

  const good = node.buildPaymentParams({ appId: 'wxd930ea5d5a258f4f', prepayId: 'wx201410272009395522657a690389285100', key, signType: 'HMAC-SHA256' });
  const now = Number(good.timeStamp) * 1000;
  const cases = [
    good,
    { ...good, timeStamp: `${good.timeStamp}000` },
    { ...good, paySign: good.paySign.toLowerCase() },
    { ...good, package: 'wx201410272009395522657a690389285100' },
    { ...good, signType: 'MD5' },
  ];
  for (const params of cases) {
    for (const options of [{ now }, { appId: 'wxd930ea5d5a258f4f', now }, { appId: 'wxd930ea5d5a258f4f', key, now }]) {
      const report = mini.checkPaymentParams(params, options);
      assert.deepEqual(plain(report), plain(node.checkPaymentParams(params, options)));
    }
  }
  assert.ok(mini.checkPaymentParams(cases[1], { now }).problems.some((p) => p.code === 'TIMESTAMP_MILLISECONDS'));

  const notify = node.toXml({ ...params, return_code: 'SUCCESS', result_code: 'SUCCESS', out_trade_no: '1', sign: node.sign(params, key, 'MD5') });
  assert.equal(mini.toXml(node.parseXml(notify)), notify);
  assert.deepEqual(plain(mini.parseXml(notify)), plain(node.parseXml(notify)));
  const user = byName.mp_encrypteddata_official;
  assert.deepEqual(
    plain(mini.decryptUserData(user.encrypted_data, user.session_key, user.iv, user.appid)),
    plain(node.decryptUserData(user.encrypted_data, user.session_key, user.iv, user.appid)),
  );
  // Errors keep their codes and messages.
  const failure = (fn) => {
    try {
      fn();
    } catch (e) {
      return { code: e.code, message: e.message };
    }
    return null;
  };
  const bad = failure(() => node.verifyPayNotify('<xml><return_code>SUCCESS</return_code></xml>', key));
  assert.ok(bad && bad.code);
  assert.deepEqual(failure(() => mini.verifyPayNotify('<xml><return_code>SUCCESS</return_code></xml>', key)), bad);
});

test('the v3 entry checks paySign with the merchant certificate and verifies notifies like the Node entry', async () => {
  const { load, opened } = miniProgram();
  const v3 = load('v3.js');
  await v3.init();
  assert.deepEqual(opened, ['/miniprogram_npm/wxpay-sign/wxpay_sign_v3.wasm.br']);
  const keys = byName.v3_test_keys;
  const v = byName.v3_requestPayment_paySign_generated_key;
  const privateKey = keys[v.key_ref.replace('v3_test_keys.', '')];
  const good = nodeV3.buildV3PaymentParams({ appId: v.appId, prepayId: v.package.replace('prepay_id=', ''), privateKey, timeStamp: v.timeStamp, nonceStr: v.nonceStr });
  const options = { appId: v.appId, key: keys.merchant_public_key_pem, now: Number(v.timeStamp) };
  for (const params of [good, { ...good, paySign: good.paySign.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }, { ...good, signType: 'MD5' }]) {
    assert.deepEqual(plain(v3.checkV3PaymentParams(params, options)), plain(nodeV3.checkV3PaymentParams(params, options)));
  }
  assert.equal(v3.checkV3PaymentParams(good, options).ok, true);
  assert.equal(v3.checkV3PaymentParams({ ...good, nonceStr: 'x' + good.nonceStr.slice(1) }, options).ok, false);

  // A notify: the RSA check runs inside the wasm here (no Node crypto), same result.
  const n = byName.v3_notify_end_to_end;
  const args = {
    headers: n.headers,
    body: n.body,
    keys: { [n.headers['Wechatpay-Serial']]: keys.platform_certificate_pem },
    apiV3Key: n.apiv3_key,
    now: n.now_for_skew_check,
  };
  const notify = v3.verifyV3Notify(args);
  assert.deepEqual(plain(notify), plain(nodeV3.verifyV3Notify(args)));
  assert.equal(notify.eventType ?? notify.event_type, n.expected_event_type);
  assert.throws(() => v3.verifyV3Notify({ ...args, body: n.body.replace('"', "'") }));
});
