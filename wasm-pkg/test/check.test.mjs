// checkPaymentParams: every problem code, on params a broken server or front end makes.
import test from 'node:test';
import assert from 'node:assert/strict';
import { wx } from './helpers.mjs';

const KEY = 'qazwsxedcrfvtgbyhnujmikolp111111';
const APP_ID = 'wxd678efh567hg6787';
const NOW = 1490840662000;
const good = Object.freeze({
  timeStamp: '1490840662',
  nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
  package: 'prepay_id=wx2017033010242291fcfe0db70013231072',
  signType: 'MD5',
  paySign: '22D9B4E54AB1950F51E0649E8810ACD6',
});
const withKey = { appId: APP_ID, key: KEY, now: NOW };

const codes = (params, options = { now: NOW }) => wx.checkPaymentParams(params, options).problems.map((p) => p.code);

/** The official params with paySign made the way a mistaken server does. */
function signedAs(signedSet, signType = 'MD5') {
  return { ...good, paySign: wx.sign(signedSet, KEY, signType) };
}
const set = { appId: APP_ID, nonceStr: good.nonceStr, package: good.package, signType: 'MD5', timeStamp: good.timeStamp };

test('correct params pass, with the canonical string and expected paySign', () => {
  const report = wx.checkPaymentParams(good, withKey);
  assert.equal(report.ok, true);
  assert.deepEqual(report.problems, []);
  assert.equal(report.expectedPaySign, good.paySign);
  assert.equal(report.canonical, wx.canonicalString(set));
});

test('shape problems, no key needed', () => {
  const { nonceStr, ...noNonce } = good;
  assert.deepEqual(codes(noNonce), ['MISSING_FIELD']);
  assert.deepEqual(codes({ ...good, nonceStr: 42 }), ['FIELD_NOT_STRING']);
  assert.deepEqual(codes({ ...good, timeStamp: 1490840662 }), ['TIMESTAMP_NOT_STRING']);
  assert.deepEqual(codes({ ...good, timeStamp: '2017-03-30' }), ['TIMESTAMP_INVALID']);
  assert.deepEqual(codes({ ...good, timeStamp: '1490840662000' }), ['TIMESTAMP_MILLISECONDS']);
  assert.deepEqual(codes(good, { now: NOW + 3600 * 1000 }), ['TIMESTAMP_SKEW']);
  assert.deepEqual(codes({ ...good, nonceStr: 'x'.repeat(33) }), ['NONCE_TOO_LONG']);
  assert.deepEqual(codes({ ...good, package: 'wx2017033010242291fcfe0db70013231072' }), ['PACKAGE_FORMAT']);
  assert.deepEqual(codes({ ...good, signType: 'RSA' }), ['SIGN_TYPE_INVALID']);
  assert.deepEqual(codes({ ...good, signType: 'HMAC-SHA256' }), ['SIGN_TYPE_LENGTH_MISMATCH']);
  assert.deepEqual(codes({ ...good, paySign: 'not a sign' }), ['PAYSIGN_FORMAT']);
  assert.deepEqual(codes({ ...good, paySign: good.paySign.toLowerCase() }), ['PAYSIGN_LOWERCASE']);
  assert.deepEqual(codes(good, { key: KEY, now: NOW }), ['APPID_REQUIRED']);
});

test('each classic paySign mistake is named', () => {
  const cases = [
    ['KEY_CASE_APPID', signedAs({ ...set, appId: undefined, appid: APP_ID })],
    ['APPID_NOT_SIGNED', signedAs({ ...set, appId: undefined })],
    ['SIGN_TYPE_NOT_SIGNED', signedAs({ ...set, signType: undefined })],
    ['VALUES_URL_ENCODED', signedAs(Object.fromEntries(Object.entries(set).map(([k, v]) => [k, encodeURIComponent(v)])))],
  ];
  for (const [code, params] of cases) {
    const found = codes(params, withKey);
    assert.deepEqual(found, ['PAYSIGN_MISMATCH', code], code);
  }
  // HMAC-SHA256 sign under signType MD5: the length says so, and so does the diagnosis.
  const other = codes(signedAs(set, 'HMAC-SHA256'), withKey);
  assert.deepEqual(other, ['SIGN_TYPE_LENGTH_MISMATCH', 'PAYSIGN_MISMATCH', 'OTHER_SIGN_TYPE']);
  // The server signed the trimmed package but the params carry a padded one.
  const trimmed = codes({ ...good, package: `${good.package} ` }, withKey);
  assert.deepEqual(trimmed, ['PAYSIGN_MISMATCH', 'VALUES_TRIMMED']);
  // Nothing explains it: the key.
  const otherKey = { ...good, paySign: wx.sign(set, '00000000000000000000000000000000') };
  assert.deepEqual(codes(otherKey, withKey), ['PAYSIGN_MISMATCH', 'WRONG_KEY_LIKELY']);
});

test('every problem has a message that says what to do', () => {
  const report = wx.checkPaymentParams({ timeStamp: 1, package: 'x' }, withKey);
  assert.ok(report.problems.length >= 4);
  for (const p of report.problems) {
    assert.ok(p.message.length > 15, p.code);
    assert.equal(typeof p.field, 'string');
  }
});
