// wxpay-sign/v3: every API v3 golden vector through the JS API (each passing one checked
// again with flipped characters, which must fail), the coded errors, the v3 explainer's
// problem codes, and the browser entry.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { vectors, flips, throwsCode } from './helpers.mjs';

const require = createRequire(import.meta.url);
const v3 = require('wxpay-sign/v3');
const byName = Object.fromEntries(vectors.map((v) => [v.name, v]));
const keys = byName.v3_test_keys;
const keyRef = (v) => keys[v.key_ref.replace('v3_test_keys.', '')];
const run = (kind) => vectors.filter((v) => v.kind === kind);

test('every v3 vector kind has a runner here, and all 15 run', () => {
  const kinds = new Set(vectors.filter((v) => v.kind.startsWith('wxpay_v3')).map((v) => v.kind));
  assert.deepEqual([...kinds].sort(), ['wxpay_v3_aead', 'wxpay_v3_keys', 'wxpay_v3_notify',
    'wxpay_v3_paysign', 'wxpay_v3_request_sign', 'wxpay_v3_verify']);
  assert.equal(vectors.filter((v) => v.kind.startsWith('wxpay_v3')).length, 15);
});

test('keys: certificates by serial, public keys by PUB_KEY_ID_, both at once', () => {
  const v = run('wxpay_v3_keys')[0];
  const body = byName.v3_notify_end_to_end;
  const both = {
    [v.platform_cert_serial_no]: v.platform_certificate_pem,
    [v.wechatpay_public_key_id]: v.platform_public_key_pem,
  };
  const notify = v3.verifyV3Notify({ ...args(body), keys: both });
  assert.equal(notify.serial, v.platform_cert_serial_no);
  const byPublicKey = { ...body.headers, 'Wechatpay-Serial': v.wechatpay_public_key_id };
  assert.equal(v3.verifyV3Notify({ ...args(body), headers: byPublicKey, keys: both }).serial, v.wechatpay_public_key_id);
  throwsCode(() => v3.verifyV3Notify({ ...args(body), keys: { 'not-a-key-id': v.platform_public_key_pem } }), 'INVALID_KEY');
  throwsCode(() => v3.verifyV3Notify({ ...args(body), keys: { [v.platform_cert_serial_no]: v.merchant_private_key_pem } }), 'WRONG_KEY_KIND');
  throwsCode(() => v3.verifyV3Notify({ ...args(body), keys: {} }), 'INVALID_KEY');
});

/// The notify vector's call arguments.
function args(v) {
  return {
    headers: v.headers,
    body: v.body,
    keys: v.platform_certificate_pem
      ? { [v.platform_cert_serial_no]: v.platform_certificate_pem }
      : { [v.headers['Wechatpay-Serial']]: keys.platform_certificate_pem },
    apiV3Key: v.apiv3_key && v.apiv3_key.length === 32 ? v.apiv3_key : '0123456789abcdefghijklmnopqrstuv',
    now: v.now_for_skew_check ?? 1704081601,
  };
}

/// Every header value and the body, one flipped character at a time: each must fail.
function assertFlipsFail(call, base) {
  for (const flipped of flips(base.body)) {
    assert.throws(() => call({ ...base, body: flipped }));
  }
  for (const name of ['Wechatpay-Nonce', 'Wechatpay-Signature', 'Wechatpay-Timestamp']) {
    for (const flipped of flips(base.headers[name])) {
      assert.throws(() => call({ ...base, headers: { ...base.headers, [name]: flipped } }), name);
    }
  }
}

/// The notify vectors through one entry point (Node's, whose RSA runs in Node's crypto, or
/// the browser's, whose RSA runs in the wasm).
function notifyVectors(v3) {
  for (const v of run('wxpay_v3_notify')) {
    const base = args(v);
    if (v.expected_valid === false) {
      const code = {
        v3_notify_signature_probe: 'SIGNATURE_PROBE',
        v3_notify_stale_timestamp: 'TIMESTAMP_OUTSIDE_WINDOW',
        v3_notify_tampered_body: 'BAD_SIGNATURE',
      }[v.name];
      throwsCode(() => v3.verifyV3Notify(base), code);
      continue;
    }
    if (v.apiv3_key.length !== 32) {
      // The Go SDK's vector: a 16-byte AEAD key. Its signature verifies as a response
      // does; its resource decrypts with AES-128-GCM.
      assert.equal(v3.verifyV3Response(base).serial, v.platform_cert_serial_no);
      assertFlipsFail((a) => v3.verifyV3Response(a), base);
      const resource = JSON.parse(v.body).resource;
      assert.equal(v3.decryptV3Resource(resource, v.apiv3_key), v.expected_plaintext);
      continue;
    }
    const notify = v3.verifyV3Notify(base);
    assert.equal(notify.event_type, v.expected_event_type);
    assert.deepEqual(notify.resource, JSON.parse(v.expected_plaintext));
    assertFlipsFail((a) => v3.verifyV3Notify(a), base);
  }
}

test('v3 notify vectors: verified, decrypted, and nothing tampered passes', () => notifyVectors(v3));

test('v3 response vector (204, empty body)', () => {
  for (const v of run('wxpay_v3_verify')) {
    const base = {
      headers: v.headers,
      body: v.body,
      keys: { [v.headers['Wechatpay-Serial']]: keyRef(v) },
      now: v.now_for_skew_check,
    };
    // A public key under a certificate serial is refused: say it is WeChat's public key.
    throwsCode(() => v3.verifyV3Response(base), 'INVALID_KEY');
    const cert = { ...base, keys: { [v.headers['Wechatpay-Serial']]: keys.platform_certificate_pem } };
    // The certificate is valid from 2024; this response is from 2019.
    throwsCode(() => v3.verifyV3Response(cert), 'CERTIFICATE_NOT_VALID');
    const id = keys.wechatpay_public_key_id;
    const byId = { ...base, headers: { ...v.headers, 'Wechatpay-Serial': id }, keys: { [id]: keyRef(v) } };
    // Signed under the certificate's serial, verified under the id: same key, same bytes.
    assert.equal(v3.verifyV3Response(byId).serial, id);
    assertFlipsFail((a) => v3.verifyV3Response(a), byId);
  }
});

test('v3 request-signing vectors: the message, signed by Node with the merchant key', () => {
  const cases = run('wxpay_v3_request_sign');
  assert.equal(cases.length, 3);
  for (const v of cases) {
    const message = v3.v3RequestMessage({ method: v.method, url: v.url_path, timestamp: v.timestamp, nonce: v.nonce_str, body: v.body });
    assert.equal(message, v.expected_message, v.name);
    const signature = crypto.sign('sha256', Buffer.from(message), keyRef(v)).toString('base64');
    assert.equal(signature, v.expected_signature, v.name);
    for (const flipped of flips(message)) {
      assert.equal(crypto.verify('sha256', Buffer.from(flipped), keys.merchant_public_key_pem, Buffer.from(signature, 'base64')), false);
    }
  }
  throwsCode(() => v3.v3RequestMessage({ method: 'GET', url: '/v3/certificates', timestamp: 1554208460000, nonce: 'n', body: '' }), 'INVALID_TIMESTAMP');
  throwsCode(() => v3.v3RequestMessage({ method: 'GET', url: 'https://api.mch.weixin.qq.com/v3/certificates', timestamp: 1554208460, nonce: 'n', body: '' }), 'INVALID_ARGUMENT');
});

test('v3 AEAD vectors', () => {
  const cases = run('wxpay_v3_aead');
  assert.equal(cases.length, 4);
  for (const v of cases) {
    const resource = { algorithm: 'AEAD_AES_256_GCM', nonce: v.nonce, associated_data: v.associated_data, ciphertext: v.ciphertext_base64 };
    if (v.expected_error) {
      const error = throwsCode(() => v3.decryptV3Resource(resource, v.apiv3_key), 'DECRYPT_FAILED');
      assert.match(error.message, /authentication tag mismatch/);
      continue;
    }
    assert.equal(v3.decryptV3Resource(resource, v.apiv3_key), v.expected_plaintext, v.name);
    for (const flipped of flips(v.associated_data)) {
      assert.throws(() => v3.decryptV3Resource({ ...resource, associated_data: flipped }, v.apiv3_key));
    }
    const raw = Buffer.from(v.ciphertext_base64, 'base64');
    for (let i = 0; i < raw.length; i++) {
      const copy = Buffer.from(raw);
      copy[i] ^= 1;
      throwsCode(() => v3.decryptV3Resource({ ...resource, ciphertext: copy.toString('base64') }, v.apiv3_key), 'DECRYPT_FAILED');
    }
  }
  throwsCode(() => v3.decryptV3Resource({ algorithm: 'AEAD_AES_256_GCM', nonce: 'x', ciphertext: '' }, 'short'), 'INVALID_API_V3_KEY');
});

test('v3 paySign vector: built in Node with the merchant key, checked with its public key', () => {
  const v = run('wxpay_v3_paysign')[0];
  const params = v3.buildV3PaymentParams({
    appId: v.appId,
    prepayId: v.package.replace('prepay_id=', ''),
    privateKey: keyRef(v),
    timeStamp: v.timeStamp,
    nonceStr: v.nonceStr,
  });
  assert.deepEqual(params, { timeStamp: v.timeStamp, nonceStr: v.nonceStr, package: v.package, signType: 'RSA', paySign: v.expected_paySign });
  const report = v3.checkV3PaymentParams(params, { appId: v.appId, key: keys.merchant_public_key_pem, now: Number(v.timeStamp) });
  assert.equal(report.ok, true, JSON.stringify(report));
  assert.equal(report.signedMessage, v.expected_message);
  for (const field of ['timeStamp', 'nonceStr', 'package']) {
    for (const flipped of flips(params[field])) {
      const r = v3.checkV3PaymentParams({ ...params, [field]: flipped }, { appId: v.appId, key: keys.merchant_public_key_pem });
      assert.equal(r.ok, false, field);
    }
  }
  throwsCode(() => v3.buildV3PaymentParams({ appId: v.appId, prepayId: 'wx1', privateKey: keys.platform_certificate_pem }), 'WRONG_KEY_KIND');
  throwsCode(() => v3.buildV3PaymentParams({ appId: v.appId, prepayId: 'wx1', privateKey: keyRef(v), timeStamp: Date.now() }), 'INVALID_TIMESTAMP');
});

test('each way a v3 signature is wrong has its own code', () => {
  const v = byName.v3_notify_end_to_end;
  const base = args(v);
  const withHeader = (name, value) => ({ ...base, headers: { ...v.headers, [name]: value } });
  throwsCode(() => v3.verifyV3Notify(withHeader('Wechatpay-Serial', 'PUB_KEY_ID_0000000000000000000000000000000009')), 'UNKNOWN_SERIAL');
  throwsCode(() => v3.verifyV3Notify(withHeader('Wechatpay-Signature', undefined)), 'MISSING_HEADER');
  throwsCode(() => v3.verifyV3Notify(withHeader('Wechatpay-Signature', 'WECHATPAY/SIGNTEST/%%%')), 'SIGNATURE_PROBE');
  throwsCode(() => v3.verifyV3Notify(withHeader('Wechatpay-Signature', '%%%')), 'INVALID_SIGNATURE');
  throwsCode(() => v3.verifyV3Notify(withHeader('Wechatpay-Signature-Type', 'MD5')), 'WRONG_SIGNATURE_TYPE');
  throwsCode(() => v3.verifyV3Notify({ ...base, now: base.now + 300 }), 'TIMESTAMP_OUTSIDE_WINDOW');
  throwsCode(() => v3.verifyV3Notify({ ...base, now: base.now - 300 }), 'TIMESTAMP_OUTSIDE_WINDOW');
  assert.equal(v3.verifyV3Notify({ ...base, now: base.now + 299 }).event_type, 'TRANSACTION.SUCCESS');
  throwsCode(() => v3.verifyV3Notify({ ...base, now: Date.now() }), 'INVALID_OPTIONS');
  throwsCode(() => v3.verifyV3Notify({ ...base, apiV3Key: '192006250b4c09247ec02edce69f6a2d' }), 'DECRYPT_FAILED');
  // Header names in any case; the body as bytes works the same.
  const lower = Object.fromEntries(Object.entries(v.headers).map(([k, val]) => [k.toLowerCase(), val]));
  assert.equal(v3.verifyV3Notify({ ...base, headers: lower, body: Buffer.from(v.body) }).event_type, 'TRANSACTION.SUCCESS');
  // A re-serialized body fails, and the error says what happened.
  const reserialized = JSON.stringify(JSON.parse(v.body), null, 2);
  const error = throwsCode(() => v3.verifyV3Notify({ ...base, body: reserialized }), 'BAD_SIGNATURE');
  assert.match(error.message, /re-serialized/);
  throwsCode(() => v3.verifyV3Notify({ ...base, body: JSON.parse(v.body) }), 'INVALID_ARGUMENT');
});

test('checkV3PaymentParams names every classic v3 mistake', () => {
  const v = byName.v3_requestPayment_paySign_generated_key;
  const privateKey = keyRef(v);
  const good = v3.buildV3PaymentParams({ appId: v.appId, prepayId: v.package.replace('prepay_id=', ''), privateKey, timeStamp: v.timeStamp, nonceStr: v.nonceStr });
  const opts = { appId: v.appId, key: keys.merchant_public_key_pem, now: Number(v.timeStamp) };
  const codes = (params, o = opts) => v3.checkV3PaymentParams(params, o).problems.map((p) => p.code);
  const signed = (message) => crypto.sign('sha256', Buffer.from(message), privateKey).toString('base64');
  const lines = [v.appId, good.timeStamp, good.nonceStr, good.package];
  assert.deepEqual(codes(good), []);
  assert.deepEqual(codes({ ...good, signType: 'MD5' }), ['SIGN_TYPE_NOT_RSA']);
  assert.deepEqual(codes({ ...good, signType: 'rsa' }), ['SIGN_TYPE_INVALID']);
  assert.deepEqual(codes({ ...good, timeStamp: Number(good.timeStamp) }), ['TIMESTAMP_NOT_STRING']);
  assert.ok(codes({ ...good, timeStamp: `${good.timeStamp}000` }).includes('TIMESTAMP_MILLISECONDS'));
  assert.ok(codes({ ...good, package: v.package.replace('prepay_id=', '') }).includes('PACKAGE_FORMAT'));
  assert.deepEqual(codes({ ...good, paySign: 'A'.repeat(32) }), ['PAYSIGN_V2_FORMAT']);
  assert.deepEqual(codes({ ...good, paySign: 'not base64' }), ['PAYSIGN_FORMAT']);
  assert.deepEqual(codes({ ...good, paySign: undefined }), ['MISSING_FIELD']);
  assert.deepEqual(codes(good, { key: opts.key, now: opts.now }), ['APPID_REQUIRED']);
  const app = signed(`${lines[0]}\n${lines[1]}\n${lines[2]}\n${v.package.replace('prepay_id=', '')}\n`);
  assert.deepEqual(codes({ ...good, paySign: app }), ['PAYSIGN_MISMATCH', 'PACKAGE_PREFIX_NOT_SIGNED']);
  const crlf = signed(lines.map((l) => `${l}\r\n`).join(''));
  assert.deepEqual(codes({ ...good, paySign: crlf }), ['PAYSIGN_MISMATCH', 'CRLF_LINE_ENDS']);
  const noFinal = signed(lines.join('\n'));
  assert.deepEqual(codes({ ...good, paySign: noFinal }), ['PAYSIGN_MISMATCH', 'FINAL_NEWLINE_MISSING']);
  // WeChat's platform key given where the merchant's belongs: nothing verifies.
  assert.deepEqual(codes(good, { ...opts, key: keys.platform_public_key_pem }), ['PAYSIGN_MISMATCH', 'WRONG_KEY_LIKELY']);
  // The certificate works like its public key; a private key is refused outright.
  const cert = readFileSync(fileURLToPath(new URL('../../crates/wxpay-core/tests/data/merchant_cert.pem', import.meta.url)), 'utf8');
  assert.deepEqual(codes(good, { ...opts, key: cert }), []);
  throwsCode(() => v3.checkV3PaymentParams(good, { ...opts, key: privateKey }), 'INVALID_KEY');
});

test('the v3 browser entry verifies after init() (RSA in the wasm), and never signs', async () => {
  const browser = await import('../dist/v3-browser.mjs');
  const wasm = readFileSync(fileURLToPath(new URL('../dist/v3/web/wxpay_wasm_bg.wasm', import.meta.url)));
  // The bytes given bare (as the README shows): no wasm-bindgen deprecation warning.
  const warnings = [];
  const warn = console.warn;
  console.warn = (...args) => warnings.push(args.join(' '));
  try {
    await browser.init(wasm);
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(warnings, []);
  notifyVectors(browser);
  throwsCode(() => browser.buildV3PaymentParams({ appId: 'wx2421b1c4370ec43b', prepayId: 'wx1', privateKey: 'x' }), 'NOT_SUPPORTED');
  const esm = await import('wxpay-sign/v3');
  assert.deepEqual(Object.keys(esm.default).sort(), Object.keys(v3).sort());
});
