// The scratch-buffer lane (js/scratch.js, src/frame.rs) with inputs of every size and
// kind of text, in an order that grows the buffer, moves it and shrinks the next input:
// every result is checked against node:crypto over a canonical string built here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { wx } from './helpers.mjs';

const KEY = '192006250b4c09247ec02edce69f6a2d';

// The canonical string by the book: non-empty fields but sign, ASCII keys in order.
function expectedSign(params) {
  const canonical = Object.keys(params)
    .filter((k) => k !== 'sign' && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
  return createHash('md5').update(`${canonical}&key=${KEY}`, 'utf8').digest('hex').toUpperCase();
}

const texts = {
  empty: '',
  ascii: 'out-trade-20150806125346',
  chinese: '腾讯充值中心-QQ会员充值（月卡）',
  emoji: '😀 paid 💳',
  loneSurrogate: 'a\uD800b\uDC00c',
  long: 'x'.repeat(5000),
  longChinese: '中'.repeat(40000),
  huge: 'abc😀'.repeat(60000),
};

// First in this file: the buffer is still small (it never shrinks). Each field's XML is
// longer than the three bytes per character and four per length the input reserved.
test('an output longer than the buffer (XML of a big map) moves it, and the next call still works', () => {
  const params = {};
  for (let i = 0; i < 250; i++) params[`a${String(i).padStart(3, '0')}`] = 'x';
  const xml = wx.toXml(params);
  assert.ok(Buffer.byteLength(xml) > 250 * 5 * 3 + 250 * 2 * 4);
  assert.deepEqual(wx.parseXml(xml), params);
  const small = { appid: 'wx2421b1c4370ec43b', nonce_str: 'n' };
  assert.equal(wx.sign(small, KEY), expectedSign(small));
});

test('signs match node:crypto for every kind and size of text, the buffer growing and not', () => {
  const order = ['ascii', 'huge', 'empty', 'chinese', 'long', 'emoji', 'longChinese', 'loneSurrogate', 'ascii'];
  for (const name of order) {
    const params = { appid: 'wx2421b1c4370ec43b', body: texts[name], mch_id: '1900009851', attach: texts.chinese, total_fee: 888 };
    const expected = expectedSign({ ...params, total_fee: '888' });
    assert.equal(wx.sign(params, KEY, 'MD5'), expected, name);
    assert.equal(wx.verifySign({ ...params, sign: expected }, KEY), true, name);
    assert.equal(wx.verifySign({ ...params, sign: expected.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }, KEY), false, name);
  }
});

test('a repeated frame reads back exactly: canonical strings of every kind of text', () => {
  for (const [name, value] of Object.entries(texts)) {
    const canonical = wx.canonicalString({ b: value, a: '1', c: value });
    const want = value === '' ? 'a=1' : `a=1&b=${value}&c=${value}`;
    // A lone surrogate is not text: it becomes U+FFFD on the way in, as TextEncoder makes it.
    assert.equal(canonical, want.toWellFormed(), name);
  }
  assert.equal(wx.canonicalString({ v: texts.loneSurrogate }), 'v=a\uFFFDb\uFFFDc');
});

test('a field named __proto__ comes back as a field, not as the prototype', () => {
  const fields = wx.parseXml('<xml><__proto__>x</__proto__><a>1</a></xml>');
  assert.equal(Object.getPrototypeOf(fields), Object.prototype);
  assert.deepEqual(Object.keys(fields), ['__proto__', 'a']);
  assert.equal(Object.getOwnPropertyDescriptor(fields, '__proto__').value, 'x');
});

test('only own fields are signed, in the order Object.keys gives', () => {
  const inherited = Object.create({ injected: 'from the prototype' });
  inherited.appid = 'wx2421b1c4370ec43b';
  inherited.mch_id = '1900009851';
  assert.equal(wx.sign(inherited, KEY), expectedSign({ appid: 'wx2421b1c4370ec43b', mch_id: '1900009851' }));
});
