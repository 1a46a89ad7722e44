// Conformance against an independent implementation: wechatpay-axios-plugin's v2 signing
// on thousands of generated parameter maps (Chinese text, empty values, a `sign` key,
// integers, mixed-case keys). Where the two disagree because the peer is wrong, the
// disagreement is pinned down in its own test and documented in the README.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { wx } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { Hash } = require('wechatpay-axios-plugin');
const KEY = '192006250b4c09247ec02edce69f6a2d';

// A small seeded PRNG (mulberry32) so every run checks the same maps.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEY_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789';
const TEXT = ['腾讯充值中心-QQ会员充值', '深圳分店|order-meta=42', '', ' ', 'a&b=c', '😀', 'prepay_id=wx201', 'x'.repeat(40), '中文 空格', '<xml>'];

function generate(next) {
  const map = {};
  const fields = 1 + Math.floor(next() * 20);
  for (let i = 0; i < fields; i++) {
    let key = '';
    const len = 1 + Math.floor(next() * 12);
    for (let j = 0; j < len; j++) key += KEY_CHARS[Math.floor(next() * KEY_CHARS.length)];
    // Integer-like keys are a documented peer bug (below); WeChat has none.
    if (/^[0-9]+$/.test(key)) key = `k${key}`;
    const pick = next();
    if (pick < 0.15) map[key] = Math.floor(next() * 1e9);
    else if (pick < 0.5) map[key] = TEXT[Math.floor(next() * TEXT.length)];
    else map[key] = Math.floor(next() * 1e12).toString(36);
  }
  if (next() < 0.3) map.sign = 'SHOULD_BE_IGNORED';
  if (next() < 0.3) map.total_fee = 1 + Math.floor(next() * 100000);
  return map;
}

test('sign agrees with wechatpay-axios-plugin on 5000 generated maps, both sign types', () => {
  const next = rng(20261127);
  let compared = 0;
  for (let i = 0; i < 5000; i++) {
    const map = generate(next);
    for (const type of ['MD5', 'HMAC-SHA256']) {
      assert.equal(wx.sign(map, KEY, type), Hash.sign(type, map, KEY), JSON.stringify(map));
      compared++;
    }
  }
  assert.equal(compared, 10000);
});

test('documented disagreement: the peer signs null values as "key=" (null means absent)', () => {
  const map = { appid: 'wx1', attach: null, body: 'test' };
  assert.equal(wx.canonicalString(map), 'appid=wx1&body=test');
  assert.notEqual(wx.sign(map, KEY), Hash.sign('MD5', map, KEY));
  // With the null removed they agree again.
  assert.equal(wx.sign(map, KEY), Hash.sign('MD5', { appid: 'wx1', body: 'test' }, KEY));
});

test('documented disagreement: the peer misorders integer-like keys ("707" before "0vXK")', () => {
  // JavaScript objects list integer-like keys first; the peer sorts the keys but then
  // rebuilds an object, which puts "707" back in front. Byte order puts "0vXK" first.
  const map = { '707': 'a', '0vXK': 'b' };
  assert.equal(wx.canonicalString(map), '0vXK=b&707=a');
  assert.notEqual(wx.sign(map, KEY), Hash.sign('MD5', map, KEY));
});
