// npm run bench: W1 (sign a 14-field map, MD5 and HMAC-SHA256) and W2 (parse + verify a
// ~900-byte notify) for wxpay-sign beside wechatpay-axios-plugin and tenpay, in one run,
// on the inputs of the team's workloads.json (the copy in crates/wxpay-core/benches).
// Single thread; each figure is the median of 5 rounds of >= 1 s.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const require = createRequire(import.meta.url);
const wx = require('../dist/index.cjs');
const { Hash, Transformer } = require('wechatpay-axios-plugin');
const Tenpay = require('tenpay');
const tenpayUtil = require('tenpay/lib/util');

const w = JSON.parse(readFileSync(fileURLToPath(new URL('../../crates/wxpay-core/benches/workloads.json', import.meta.url)), 'utf8'));
const key = w.v2_key;
const tenpay = new Tenpay({ appid: 'wx2421b1c4370ec43b', mchid: '1900009851', partnerKey: key, notify_url: 'https://example.com' });

function measure(fn) {
  const rounds = [];
  for (let r = 0; r < 5; r++) {
    let n = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0n;
    while (elapsed < 1_000_000_000n) {
      for (let i = 0; i < 1000; i++) fn();
      n += 1000;
      elapsed = process.hrtime.bigint() - start;
    }
    rounds.push(n / (Number(elapsed) / 1e9));
  }
  rounds.sort((a, b) => a - b);
  return rounds[2];
}

async function measureAsync(fn) {
  const rounds = [];
  for (let r = 0; r < 5; r++) {
    let n = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0n;
    while (elapsed < 1_000_000_000n) {
      for (let i = 0; i < 200; i++) await fn();
      n += 200;
      elapsed = process.hrtime.bigint() - start;
    }
    rounds.push(n / (Number(elapsed) / 1e9));
  }
  rounds.sort((a, b) => a - b);
  return rounds[2];
}

const md5Params = w.W1_sign_md5_params;
const hmacParams = w.W1_sign_hmac_params;
const xml = w.W2_notify_xml;

// Every contestant must produce the expected results before it is timed.
const check = (name, got, want) => { if (got !== want) throw new Error(`${name}: got ${got}, want ${want}`); };
check('wxpay-sign MD5', wx.sign(md5Params, key, 'MD5'), w.W1_sign_md5_expected);
check('wxpay-sign HMAC', wx.sign(hmacParams, key, 'HMAC-SHA256'), w.W1_sign_hmac_expected);
check('axios MD5', Hash.sign('MD5', md5Params, key), w.W1_sign_md5_expected);
check('axios HMAC', Hash.sign('HMAC-SHA256', hmacParams, key), w.W1_sign_hmac_expected);
check('tenpay MD5', tenpay._getSign(md5Params, 'MD5'), w.W1_sign_md5_expected);
check('tenpay HMAC', tenpay._getSign(hmacParams, 'HMAC-SHA256'), w.W1_sign_hmac_expected);
check('wxpay-sign W2', wx.verifyPayNotify(xml, key).sign, w.W2_notify_sign);
const axiosVerify = () => { const o = Transformer.toObject(xml); return Hash.equals(Hash.sign('MD5', o, key), o.sign); };
check('axios W2', axiosVerify(), true);
const tenpayVerify = async () => { const o = await tenpayUtil.parseXML(xml); return o.sign === tenpay._getSign(o, 'MD5'); };
check('tenpay W2', await tenpayVerify(), true);

const results = {
  'W1 sign MD5': {
    'wxpay-sign': measure(() => wx.sign(md5Params, key, 'MD5')),
    'wechatpay-axios-plugin': measure(() => Hash.sign('MD5', md5Params, key)),
    tenpay: measure(() => tenpay._getSign(md5Params, 'MD5')),
  },
  'W1 sign HMAC-SHA256': {
    'wxpay-sign': measure(() => wx.sign(hmacParams, key, 'HMAC-SHA256')),
    'wechatpay-axios-plugin': measure(() => Hash.sign('HMAC-SHA256', hmacParams, key)),
    tenpay: measure(() => tenpay._getSign(hmacParams, 'HMAC-SHA256')),
  },
  'W2 notify parse + verify': {
    'wxpay-sign': measure(() => wx.verifyPayNotify(xml, key)),
    'wechatpay-axios-plugin': measure(axiosVerify),
    tenpay: await measureAsync(tenpayVerify),
  },
};

console.log(`node ${process.version}, ${os.cpus()[0].model}, ${os.cpus().length} CPUs`);
for (const [workload, byLib] of Object.entries(results)) {
  const best = Math.max(...Object.entries(byLib).filter(([k]) => k !== 'wxpay-sign').map(([, v]) => v));
  console.log(`\n${workload}`);
  for (const [lib, ops] of Object.entries(byLib)) {
    const ratio = lib === 'wxpay-sign' ? `  (${(ops / best).toFixed(2)}x the best peer)` : '';
    console.log(`  ${lib.padEnd(24)} ${(ops / 1000).toFixed(1).padStart(8)} k/s${ratio}`);
  }
}
