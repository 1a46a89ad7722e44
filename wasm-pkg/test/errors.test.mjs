// Errors are real Errors with codes; hostile XML is refused.
import test from 'node:test';
import assert from 'node:assert/strict';
import { wx, throwsCode } from './helpers.mjs';

const KEY = '192006250b4c09247ec02edce69f6a2d';

test('bad arguments throw Errors with codes', () => {
  throwsCode(() => wx.sign({ a: '1' }, 'short'), 'INVALID_KEY');
  throwsCode(() => wx.sign({ a: '1' }, KEY, 'md5'), 'INVALID_SIGN_TYPE');
  throwsCode(() => wx.sign({ total_fee: 8.88 }, KEY), 'INVALID_PARAMS');
  throwsCode(() => wx.sign({ a: true }, KEY), 'INVALID_PARAMS');
  throwsCode(() => wx.sign(null, KEY), 'INVALID_PARAMS');
  throwsCode(() => wx.buildPaymentParams({ appId: 'wx1', prepayId: 'wx2', key: KEY, timeStamp: Date.now() }), 'INVALID_PAYMENT_PARAMS');
  throwsCode(() => wx.decryptUserData('AAAA', 'bad', 'AAAA'), 'INVALID_SESSION_KEY');
});

test('hostile XML is refused with a reason', () => {
  const e = throwsCode(() => wx.parseXml('<!DOCTYPE x [<!ENTITY a "b">]><xml><a>&a;</a></xml>'), 'XML_DOCTYPE');
  assert.match(e.message, /DOCTYPE/);
  throwsCode(() => wx.parseXml('<xml><a>&nbsp;</a></xml>'), 'XML_ENTITY');
  throwsCode(() => wx.parseXml('<xml><a>1</a><a>2</a></xml>'), 'INVALID_XML');
  throwsCode(() => wx.parseXml(`<xml><a>${'x'.repeat(70000)}</a></xml>`), 'XML_TOO_LARGE');
  throwsCode(() => wx.verifyPayNotify('<xml><return_code>FAIL</return_code></xml>', KEY), 'RETURN_FAIL');
});

test('XML round-trips through toXml and parseXml', () => {
  const params = { body: '腾讯充值 ]]> <x>', total_fee: 1, attach: '' };
  assert.deepEqual(wx.parseXml(wx.toXml(params)), { body: params.body, total_fee: '1', attach: '' });
});

test('nonce and timestamp default to random and now', () => {
  const a = wx.buildPaymentParams({ appId: 'wx1', prepayId: 'wx2', key: KEY });
  const b = wx.buildPaymentParams({ appId: 'wx1', prepayId: 'wx2', key: KEY });
  assert.notEqual(a.nonceStr, b.nonceStr);
  assert.equal(a.nonceStr.length, 32);
  assert.ok(Math.abs(Number(a.timeStamp) - Date.now() / 1000) < 5);
  assert.deepEqual(Object.keys(a).sort(), ['nonceStr', 'package', 'paySign', 'signType', 'timeStamp']);
});
