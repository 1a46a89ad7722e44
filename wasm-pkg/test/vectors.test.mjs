// Every v2 and Mini Program golden vector, through the JS API, each passing one checked
// again with flipped characters, which must fail.
import test from 'node:test';
import assert from 'node:assert/strict';
import { wx, vectors, flips, throwsCode } from './helpers.mjs';

const run = (kind) => vectors.filter((v) => v.kind === kind);

test('v2 sign vectors', () => {
  const cases = run('wxpay_v2_sign');
  assert.equal(cases.length, 3);
  for (const v of cases) {
    assert.equal(wx.canonicalString(v.params), v.expected_string_a, v.name);
    assert.equal(wx.sign(v.params, v.api_key, v.sign_type), v.expected_sign, v.name);
    if (v.expected_sign_if_md5) assert.equal(wx.sign(v.params, v.api_key, 'MD5'), v.expected_sign_if_md5);
    const signed = { ...v.params, sign: v.expected_sign };
    assert.equal(wx.verifySign(signed, v.api_key, v.sign_type), true, v.name);
    for (const [field, value] of Object.entries(v.params)) {
      if (field === 'sign' || typeof value !== 'string') continue;
      for (const flipped of flips(value)) {
        assert.equal(wx.verifySign({ ...signed, [field]: flipped }, v.api_key, v.sign_type), false, `${v.name}: ${field}`);
      }
    }
  }
});

test('v2 paySign vectors', () => {
  const cases = run('wxpay_v2_paysign');
  assert.equal(cases.length, 2);
  for (const v of cases) {
    assert.equal(wx.sign(v.params, v.api_key, v.sign_type), v.expected_paySign, v.name);
    const built = wx.buildPaymentParams({
      appId: v.params.appId,
      prepayId: v.params.package.replace('prepay_id=', ''),
      key: v.api_key,
      signType: v.sign_type,
      nonceStr: v.params.nonceStr,
      timeStamp: v.params.timeStamp,
    });
    assert.equal(built.paySign, v.expected_paySign);
    assert.equal(typeof built.timeStamp, 'string');
    const report = wx.checkPaymentParams(built, { appId: v.params.appId, key: v.api_key, now: 1490840662 * 1000 });
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    for (const flipped of flips(built.paySign)) {
      assert.equal(wx.checkPaymentParams({ ...built, paySign: flipped }, { appId: v.params.appId, key: v.api_key, now: 1490840662000 }).ok, false);
    }
  }
});

test('v2 request vectors', () => {
  const cases = run('wxpay_v2_request');
  assert.equal(cases.length, 2);
  for (const v of cases) {
    assert.equal(wx.sign(v.params, v.api_key, v.sign_type || 'MD5'), v.expected_sign, v.name);
    const parsed = wx.parseXml(v.example_body_xml);
    assert.equal(wx.verifySign(parsed, v.api_key), true, v.name);
    for (const flipped of flips(v.example_body_xml)) {
      let ok = false;
      try {
        ok = wx.verifySign(wx.parseXml(flipped), v.api_key);
      } catch {}
      assert.equal(ok, false, v.name);
    }
  }
});

test('v2 notify vectors', () => {
  const cases = run('wxpay_v2_notify');
  assert.equal(cases.length, 3);
  for (const v of cases) {
    if (!v.expected_valid) {
      throwsCode(() => wx.verifyPayNotify(v.body_xml, v.api_key), 'BAD_SIGNATURE');
      continue;
    }
    const fields = wx.verifyPayNotify(v.body_xml, v.api_key);
    assert.equal(fields.sign, v.expected_sign);
    if (v.expected_fields) assert.deepEqual(fields, v.expected_fields);
    assert.deepEqual(wx.verifyPayNotify(v.body_xml, v.api_key, v.sign_type), fields);
    for (const flipped of flips(v.body_xml)) {
      assert.throws(() => wx.verifyPayNotify(flipped, v.api_key), v.name);
    }
  }
});

test('refund notify req_info vector', () => {
  const [v] = run('wxpay_v2_refund_notify');
  assert.deepEqual(wx.decryptRefundInfo(v.req_info_base64, v.api_key), v.expected_fields);
  throwsCode(() => wx.decryptRefundInfo(v.req_info_base64, '192006250b4c09247ec02edce69f6a2e'), 'DECRYPT_FAILED');
});

test('Mini Program encryptedData vectors', () => {
  const cases = run('miniprogram_decrypt');
  assert.equal(cases.length, 4);
  for (const v of cases) {
    if (v.expected_error === 'padding') {
      throwsCode(() => wx.decryptUserData(v.encrypted_data, v.session_key, v.iv, v.appid), 'DECRYPT_FAILED');
    } else if (!v.expected_watermark_ok) {
      throwsCode(() => wx.decryptUserData(v.encrypted_data, v.session_key, v.iv, v.appid), 'WATERMARK_MISMATCH');
      // Without appId the data is shown (debugging), watermark and all.
      assert.equal(wx.decryptUserData(v.encrypted_data, v.session_key, v.iv).watermark.appid, 'wx4f4bc4dec97d474b');
    } else {
      assert.deepEqual(wx.decryptUserData(v.encrypted_data, v.session_key, v.iv, v.appid), JSON.parse(v.expected_plaintext));
    }
  }
});

test('Mini Program signature vectors', () => {
  for (const v of run('miniprogram_rawdata_sig')) {
    assert.equal(wx.rawDataSignature(v.raw_data, v.session_key), v.expected_signature);
    for (const flipped of flips(v.raw_data)) assert.notEqual(wx.rawDataSignature(flipped, v.session_key), v.expected_signature);
  }
  const sessions = run('miniprogram_session_sig');
  assert.equal(sessions.length, 2);
  for (const v of sessions) {
    assert.equal(wx.sessionSignature(v.session_key, v.post_body), v.expected_signature);
    for (const flipped of flips(v.post_body)) assert.notEqual(wx.sessionSignature(v.session_key, flipped), v.expected_signature);
  }
});
