// Where one W1 MD5 sign's time goes (issue #17): JS packing, encodeInto of the packed
// rope vs a flat string, the wasm call alone, the hex read back; beside tenpay's whole
// sign. Run after `npm run build`: node bench/w1-breakdown.mjs
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const wx = require('../dist/index.cjs');
const raw = require('../dist/node/wxpay_wasm.js');
const Tenpay = require('tenpay');

const w = JSON.parse(readFileSync(fileURLToPath(new URL('../../crates/wxpay-core/benches/workloads.json', import.meta.url)), 'utf8'));
const key = w.v2_key;
const params = w.W1_sign_md5_params;
const tenpay = new Tenpay({ appid: 'wx2421b1c4370ec43b', mchid: '1900009851', partnerKey: key, notify_url: 'https://example.com' });

// The package's own packing (js/api.js), for timing it alone.
function pack(p) {
  let packed = '';
  for (const k of Object.keys(p)) packed += k.length + ':' + k + p[k].length + ':' + p[k];
  return packed;
}
const flat = `${key.length}:${key}3:MD5${pack(params)}`.split('').join('');
const encoder = new TextEncoder();
const capacity = flat.length * 3 + 16;
const at = raw.scratchBuffer(capacity);
const memory = raw.wasmMemory();
const hex = new Uint8Array(32).fill(65);

function microseconds(fn) {
  let n = 0;
  const start = process.hrtime.bigint();
  while (process.hrtime.bigint() - start < 1_500_000_000n) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
  }
  return 1.5e6 / n;
}

const encodeFlat = microseconds(() => encoder.encodeInto(flat, new Uint8Array(memory.buffer, at, capacity)));
const encodeAndSign = microseconds(() => {
  const { written } = encoder.encodeInto(flat, new Uint8Array(memory.buffer, at, capacity));
  raw.signScratch(written);
});
const row = {
  wxpay_sign_us: microseconds(() => wx.sign(params, key, 'MD5')),
  tenpay_us: microseconds(() => tenpay._getSign(params, 'MD5')),
  js_pack_us: microseconds(() => pack(params)),
  js_pack_and_encode_us: microseconds(() => encoder.encodeInto(pack(params), new Uint8Array(memory.buffer, at, capacity))),
  encode_flat_us: encodeFlat,
  wasm_sign_call_us: encodeAndSign - encodeFlat,
  hex_back_us: microseconds(() => String.fromCharCode.apply(null, hex)),
};
for (const k of Object.keys(row)) row[k] = Number(row[k].toFixed(3));
console.log(JSON.stringify(row));
