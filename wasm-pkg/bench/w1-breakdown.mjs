// Where one W1 MD5 sign's time goes (issue #17): joining the texts, writing the frame
// into wasm memory (js/scratch.js, loaded as is; encodeInto and the lengths), the wasm
// call alone, the hex read back; beside the whole wxpay-sign and tenpay signs.
// Run after `npm run build`: node bench/w1-breakdown.mjs
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const wx = require('../dist/index.cjs');
const raw = require('../dist/node/wxpay_wasm.js');
const Tenpay = require('tenpay');

const source = (path) => readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8');
const w = JSON.parse(source('../../crates/wxpay-core/benches/workloads.json'));
const key = w.v2_key;
const params = w.W1_sign_md5_params;
const tenpay = new Tenpay({ appid: 'wx2421b1c4370ec43b', mchid: '1900009851', partnerKey: key, notify_url: 'https://example.com' });

// A second instance of the package's frame writer, on the same wasm module.
// eslint-disable-next-line no-new-func
const makeScratch = new Function(`${source('../js/scratch.js')}\nreturn makeScratch;`)();
const scratch = makeScratch(raw, new TextEncoder(), new TextDecoder());
const names = Object.keys(params);
const frame = scratch.open();
function writeFrame() {
  frame.reset();
  frame.text(key);
  frame.text('MD5');
  for (let i = 0; i < names.length; i++) {
    frame.text(names[i]);
    frame.text(params[names[i]]);
  }
}
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

const decoder = new TextDecoder();
const join = microseconds(writeFrame);
const write = microseconds(() => {
  writeFrame();
  frame.run(() => 0);
});
const writeAndCall = microseconds(() => {
  writeFrame();
  frame.run(raw.signScratch);
});
const row = {
  wxpay_sign_us: microseconds(() => wx.sign(params, key, 'MD5')),
  tenpay_us: microseconds(() => tenpay._getSign(params, 'MD5')),
  join_texts_us: join,
  write_frame_us: write - join,
  wasm_sign_call_us: writeAndCall - write,
  hex_back_us: microseconds(() => decoder.decode(hex)),
};
for (const k of Object.keys(row)) row[k] = Number(row[k].toFixed(3));
console.log(JSON.stringify(row));
