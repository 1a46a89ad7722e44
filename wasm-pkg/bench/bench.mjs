// npm run bench: W1 (sign a 14-field map, MD5 and HMAC-SHA256) and W2 (parse + verify a
// ~900-byte notify) for wxpay-sign beside wechatpay-axios-plugin and tenpay; W3 (verify +
// decrypt + parse a v3 notify) and W4 (v3 paySign) for wxpay-sign/v3 beside
// wechatpay-axios-plugin's v3 (Node's OpenSSL). One run, on the inputs of the team's
// workloads.json (the copy in crates/wxpay-core/benches). Single thread; each figure is
// the median of 5 rounds of >= 1 s.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const require = createRequire(import.meta.url);
const wx = require('../dist/index.cjs');
const wx3 = require('../dist/v3.cjs');
const { Hash, Transformer, Rsa, Aes, Formatter } = require('wechatpay-axios-plugin');
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

// W3: the same notify, verified and decrypted. axios-plugin: Rsa.verify over the joined
// message with the platform public key, then AES-GCM, then JSON.parse.
// The workload gives the platform public key: wxpay-sign takes it under a PUB_KEY_ID_ id
// (a certificate would go under its serial).
const n = w.W3_v3_notify;
const publicKeyId = 'PUB_KEY_ID_0000000000000000000000000000000001';
const w3Args = {
  headers: {
    'Wechatpay-Timestamp': n.timestamp, 'Wechatpay-Nonce': n.nonce, 'Wechatpay-Signature': n.signature,
    'Wechatpay-Serial': publicKeyId, 'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
  },
  body: n.body,
  keys: { [publicKeyId]: w.platform_public_key_pem },
  apiV3Key: w.apiv3_key,
  now: Number(n.timestamp),
};
const platformKey = Rsa.from(w.platform_public_key_pem, 'public');
const axiosW3 = () => {
  const ok = Rsa.verify(Formatter.joinedByLineFeed(n.timestamp, n.nonce, n.body), n.signature, platformKey);
  if (!ok) throw new Error('axios W3 did not verify');
  const { resource } = JSON.parse(n.body);
  return JSON.parse(Aes.AesGcm.decrypt(resource.ciphertext, w.apiv3_key, resource.nonce, resource.associated_data));
};
check('wxpay-sign W3', wx3.verifyV3Notify(w3Args).resource.out_trade_no, JSON.parse(n.plaintext).out_trade_no);
check('axios W3', axiosW3().out_trade_no, JSON.parse(n.plaintext).out_trade_no);
// W4: the v3 paySign. Both sign in Node's OpenSSL; wxpay-sign builds the message in wasm.
const p = w.W4_v3_paysign;
const merchantKey = Rsa.from(w.merchant_private_key_pem, 'private');
const w4Args = { appId: p.appId, prepayId: p.package.replace('prepay_id=', ''), privateKey: w.merchant_private_key_pem, timeStamp: p.timeStamp, nonceStr: p.nonceStr };
check('wxpay-sign W4', wx3.buildV3PaymentParams(w4Args).paySign, w.W4_signature);
const axiosW4 = () => Rsa.sign(Formatter.joinedByLineFeed(p.appId, p.timeStamp, p.nonceStr, p.package), merchantKey);
check('axios W4', axiosW4(), w.W4_signature);

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
  'W3 v3 notify verify + decrypt + parse': {
    'wxpay-sign': measure(() => wx3.verifyV3Notify(w3Args)),
    'wechatpay-axios-plugin': measure(axiosW3),
  },
  'W4 v3 paySign (RSA-2048)': {
    'wxpay-sign': measure(() => wx3.buildV3PaymentParams(w4Args)),
    'wechatpay-axios-plugin': measure(axiosW4),
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
