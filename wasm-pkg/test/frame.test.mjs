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

test('lone surrogates at the edges of neighbouring texts stay lone (U+FFFD each), never a pair', () => {
  // Joined, 'x\uD83D' and '\uDE00' would make one valid 😀.
  assert.equal(wx.canonicalString({ 'x\uD83D': '\uDE00' }), 'x\uFFFD=\uFFFD');
  const split = { a: 'x\uD83D', '\uDE00b': '1' };
  assert.equal(wx.sign(split, KEY), expectedSign({ a: 'x\uFFFD', '\uFFFDb': '1' }));
  assert.equal(wx.verifySign({ ...split, sign: '0'.repeat(32) }, KEY), false);
  assert.equal(wx.toXml({ a: 'x\uD83D', b: '\uDE00' }), '<xml><a><![CDATA[x\uFFFD]]></a><b><![CDATA[\uFFFD]]></b></xml>');
  // A key that is not a key is named as such, not as a broken frame.
  assert.throws(() => wx.verifyPayNotify('\uDE00<xml/>', `${KEY.slice(0, 31)}\uD83D`), { code: 'INVALID_KEY' });
});

test('a text starting with U+FEFF keeps it', () => {
  assert.equal(wx.canonicalString({ '\uFEFFa': '1' }), '\uFEFFa=1');
});

test('a getter that calls the API while the params are read changes nothing of the outer call', () => {
  let inner;
  const params = {
    appid: 'wx2421b1c4370ec43b',
    get body() {
      inner = wx.sign({ nested: 'call', deeper: wx.canonicalString({ z: '1' }) }, KEY);
      return 'test';
    },
    mch_id: '1900009851',
  };
  const plain = { appid: 'wx2421b1c4370ec43b', body: 'test', mch_id: '1900009851' };
  assert.equal(wx.canonicalString(params), 'appid=wx2421b1c4370ec43b&body=test&mch_id=1900009851');
  assert.equal(wx.sign(params, KEY), expectedSign(plain));
  assert.equal(inner, expectedSign({ nested: 'call', deeper: 'z=1' }));
  assert.equal(wx.toXml(params), wx.toXml(plain));
  // And a getter that throws leaves nothing behind for the next call.
  assert.throws(() => wx.sign({ a: '1', get b() { throw new Error('boom'); } }, KEY), /boom/);
  assert.equal(wx.sign(plain, KEY), expectedSign(plain));
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
