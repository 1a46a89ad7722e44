// wxpay-sign/push against independent implementations: wechatpy's pushes (the vectors the
// Rust core's tests read) and pushes made here with Node's own crypto (OpenSSL AES-256-CBC
// and SHA1, written from WeChat's documented scheme), and our sealed pushes opened by
// Node's crypto. Then the explainer on each classic receiver mistake.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { throwsCode } from './helpers.mjs';

const require = createRequire(import.meta.url);
const push = require('wxpay-sign/push');
const wechatpy = JSON.parse(readFileSync(fileURLToPath(
  new URL('../../crates/wxpay-core/tests/vectors/push_wechatpy.json', import.meta.url)), 'utf8')).vectors;

const TOKEN = 'pushToken2026';
const KEY = 'Qx7fK2mLp9sVb3nR8tYw4zA6cE1gH5jU0oI2kM7dF3e';
const APPID = 'wx1234567890abcdef';
const NOW = 1765000000;

// The oracle: WeChat's scheme in Node's crypto, nothing of ours.
const aesKey = (k) => Buffer.from(k + '=', 'base64');
const sha1 = (parts) => createHash('sha1').update([...parts].sort().join('')).digest('hex');
function nodeEncrypt(key, message, appid) {
  const body = Buffer.from(message, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  let plain = Buffer.concat([randomBytes(16), length, body, Buffer.from(appid)]);
  const pad = 32 - (plain.length % 32);
  plain = Buffer.concat([plain, Buffer.alloc(pad, pad)]);
  const k = aesKey(key);
  const cipher = createCipheriv('aes-256-cbc', k, k.subarray(0, 16)).setAutoPadding(false);
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}
function nodeDecrypt(key, encrypt) {
  const k = aesKey(key);
  const decipher = createDecipheriv('aes-256-cbc', k, k.subarray(0, 16)).setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(Buffer.from(encrypt, 'base64')), decipher.final()]);
  const unpadded = plain.subarray(0, plain.length - plain[plain.length - 1]);
  const length = unpadded.readUInt32BE(16);
  return { message: unpadded.subarray(20, 20 + length).toString('utf8'), appid: unpadded.subarray(20 + length).toString() };
}
function nodePush(message, { format = 'json', token = TOKEN, key = KEY, appid = APPID, timestamp = String(NOW) } = {}) {
  const encrypt = nodeEncrypt(key, message, appid);
  const nonce = '1357924680';
  const body = format === 'json'
    ? JSON.stringify({ ToUserName: 'gh_1', Encrypt: encrypt })
    : `<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`;
  return {
    query: { signature: sha1([token, timestamp, nonce]), timestamp, nonce, openid: 'oUser', encrypt_type: 'aes', msg_signature: sha1([token, timestamp, nonce, encrypt]) },
    body,
  };
}

const SETTLEMENT = JSON.stringify({ ToUserName: 'gh_1', Event: 'trade_manage_order_settlement', transaction_id: '4200001', settlement_time: 1765000000 });

test("wechatpy's pushes open", () => {
  assert.equal(wechatpy.length, 5);
  for (const v of wechatpy) {
    const query = `/wechat/mp/events?signature=${v.url_signature}&timestamp=${v.timestamp}&nonce=${v.nonce}&openid=o1&encrypt_type=aes&msg_signature=${v.msg_signature}`;
    const opened = push.openPush({
      token: v.token, encodingAesKey: v.encoding_aes_key, appid: v.appid, query,
      body: Buffer.from(`<xml><Encrypt><![CDATA[${v.encrypt}]]></Encrypt></xml>`), now: Number(v.timestamp),
    });
    assert.equal(opened.message, v.message);
    assert.equal(opened.mode, 'encrypted');
  }
});

test("Node's own pushes open in both formats, with their fields", () => {
  const json = nodePush(SETTLEMENT);
  const opened = push.openPush({ token: TOKEN, encodingAesKey: KEY, appid: APPID, query: json.query, body: json.body, now: NOW });
  assert.deepEqual(opened.fields, JSON.parse(SETTLEMENT));
  assert.equal(opened.fields.settlement_time, 1765000000);
  assert.equal(opened.format, 'json');
  const xmlMessage = '<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Event><![CDATA[trade_manage_remind_shipping]]></Event><CreateTime>1765000000</CreateTime></xml>';
  const xml = nodePush(xmlMessage, { format: 'xml' });
  const fromXml = push.openPush({ token: TOKEN, encodingAesKey: KEY, appid: APPID, query: new URLSearchParams(xml.query), body: xml.body, now: NOW });
  assert.deepEqual(fromXml.fields, { ToUserName: 'gh_1', Event: 'trade_manage_remind_shipping', CreateTime: '1765000000' });
});

test('a forged, foreign, stale or changed push is refused by name', () => {
  const genuine = nodePush(SETTLEMENT);
  const base = { token: TOKEN, encodingAesKey: KEY, appid: APPID, now: NOW };
  const forged = nodePush(SETTLEMENT, { token: 'guessed' });
  throwsCode(() => push.openPush({ ...base, ...forged }), 'BAD_SIGNATURE');
  const foreign = nodePush(SETTLEMENT, { appid: 'wxother' });
  throwsCode(() => push.openPush({ ...base, ...foreign }), 'WRONG_APPID');
  throwsCode(() => push.openPush({ ...base, ...genuine, now: NOW + 601 }), 'TIMESTAMP_OUTSIDE_WINDOW');
  assert.equal(push.openPush({ ...base, ...genuine, now: NOW + 601, maxAgeSecs: 700 }).mode, 'encrypted');
  const changed = { ...genuine, body: genuine.body.replace(/"Encrypt":"./, '"Encrypt":"A') };
  assert.notEqual(changed.body, genuine.body);
  throwsCode(() => push.openPush({ ...base, ...changed }), 'BAD_SIGNATURE');
  throwsCode(() => push.openPush({ ...base, ...genuine, body: JSON.parse(genuine.body) }), 'INVALID_ARGUMENT');
  throwsCode(() => push.openPush({ ...base, encodingAesKey: 'short', ...genuine }), 'INVALID_PUSH_KEY');
});

test('the URL check answers echostr only for our Token', () => {
  const query = { signature: sha1([TOKEN, String(NOW), 'n1']), timestamp: String(NOW), nonce: 'n1', echostr: '42' };
  assert.equal(push.verifyPushUrl({ token: TOKEN, query, now: NOW }), '42');
  throwsCode(() => push.verifyPushUrl({ token: 'other', query, now: NOW }), 'BAD_SIGNATURE');
  throwsCode(() => push.verifyPushUrl({ token: TOKEN, query: { ...query, signature: undefined }, now: NOW }), 'MISSING_PARAM');
  // Plain mode: the same signature, the body as sent.
  const plain = push.openPush({ token: TOKEN, appid: APPID, query, body: SETTLEMENT, now: NOW });
  assert.equal(plain.mode, 'plain');
  assert.equal(plain.fields.Event, 'trade_manage_order_settlement');
});

test("sealPush makes what Node's crypto opens, and what openPush opens", () => {
  for (const format of ['json', 'xml']) {
    const sealed = push.sealPush({ token: TOKEN, encodingAesKey: KEY, appid: APPID, message: SETTLEMENT, format, timestamp: NOW });
    const encrypt = format === 'json' ? JSON.parse(sealed.body).Encrypt : /<Encrypt><!\[CDATA\[(.*)\]\]>/.exec(sealed.body)[1];
    assert.deepEqual(nodeDecrypt(KEY, encrypt), { message: SETTLEMENT, appid: APPID });
    assert.equal(sealed.query.msg_signature, sha1([TOKEN, String(NOW), sealed.query.nonce, encrypt]));
    assert.equal(sealed.query.signature, sha1([TOKEN, String(NOW), sealed.query.nonce]));
    const opened = push.openPush({ token: TOKEN, encodingAesKey: KEY, appid: APPID, ...sealed, now: NOW });
    assert.equal(opened.message, SETTLEMENT);
    assert.equal(opened.format, format);
  }
  const fresh = push.sealPush({ token: TOKEN, encodingAesKey: KEY, appid: APPID, message: { Event: 'x' } });
  assert.equal(push.openPush({ token: TOKEN, encodingAesKey: KEY, appid: APPID, ...fresh }).fields.Event, 'x');
  const odd = push.sealPush({ token: TOKEN, encodingAesKey: KEY, appid: APPID, message: 'not xml', format: 'xml', timestamp: NOW });
  assert.equal(push.openPush({ token: TOKEN, encodingAesKey: KEY, appid: APPID, ...odd, now: NOW }).fields, null);
});

test('explainPush says what is wrong and never echoes the Token or the key', () => {
  const genuine = nodePush(SETTLEMENT);
  const args = { token: TOKEN, encodingAesKey: KEY, appid: APPID, now: NOW, ...genuine };
  const ok = push.explainPush(args);
  assert.equal(ok.ok, true, JSON.stringify(ok.problems));
  assert.equal(ok.event, 'trade_manage_order_settlement');
  assert.equal(ok.message, SETTLEMENT);
  assert.ok(ok.signedParts.includes('<Token>'));
  const codes = (report) => report.problems.map((p) => `${p.field}:${p.code}`);
  const wrongToken = push.explainPush({ ...args, token: 'pushToken2025' });
  assert.deepEqual(codes(wrongToken), ['query.signature:BAD_SIGNATURE', 'query.msg_signature:BAD_SIGNATURE']);
  assert.equal(wrongToken.message, undefined);
  assert.deepEqual(codes(push.explainPush({ ...args, appid: 'wxother' })), ['appid:WRONG_APPID']);
  assert.deepEqual(codes(push.explainPush({ ...args, encodingAesKey: KEY.replace('Q', 'R') })), ['encodingAesKey:DECRYPT_FAILED']);
  assert.deepEqual(codes(push.explainPush({ ...args, encodingAesKey: undefined })), ['encodingAesKey:KEY_REQUIRED']);
  assert.deepEqual(codes(push.explainPush({ ...args, now: NOW + 3600 })), ['query.timestamp:TIMESTAMP_OUTSIDE_WINDOW']);
  // A body read as a form: '+' became ' '.
  let spaced;
  do spaced = nodePush(SETTLEMENT); while (!JSON.parse(spaced.body).Encrypt.includes('+'));
  const formRead = push.explainPush({ ...args, ...spaced, body: spaced.body.replaceAll('+', ' ') });
  assert.deepEqual(codes(formRead), ['body.Encrypt:PLUS_AS_SPACE']);
  for (const report of [ok, wrongToken, formRead]) {
    const text = JSON.stringify(report);
    assert.ok(!text.includes(TOKEN) && !text.includes(KEY), text);
  }
});

test('the ESM and browser entries give the same calls', async () => {
  const esm = await import('wxpay-sign/push');
  assert.deepEqual(Object.keys(esm.default).sort(), Object.keys(push).sort());
  const browser = await import('../dist/push-browser.mjs');
  const wasm = readFileSync(fileURLToPath(new URL('../dist/push/web/wxpay_wasm_bg.wasm', import.meta.url)));
  await browser.init({ module_or_path: wasm });
  const genuine = nodePush(SETTLEMENT);
  assert.equal(browser.openPush({ token: TOKEN, encodingAesKey: KEY, appid: APPID, now: NOW, ...genuine }).message, SETTLEMENT);
});
