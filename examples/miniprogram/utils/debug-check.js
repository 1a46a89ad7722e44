// Develop and trial builds only: checks the server's wx.requestPayment params with
// wxpay-sign before WeChat sees them, so "支付验证签名失败" comes with a reason. The pay
// page requires this module only outside release builds: a release build never runs it
// nor loads the wasm.
//
// v2: structural checks only, with no key. The v2 API key must NEVER be in a Mini Program:
// anyone can unpack one, and that key signs payment requests as the merchant and decrypts
// refund notifies. v3: the full paySign check, with the merchant's public key (public
// material: WeChat verifies paySign with it) from GET /v1/payment-config.
const api = require('./api.js');
const wechat = require('./wechat.js');

// The server's payment config, asked once per launch. null when the server has no
// /v1/payment-config (older servers: 404) or did not answer: the checks that need it are
// skipped, the rest still run.
let configPromise = null;

function paymentConfig() {
  if (configPromise === null) {
    configPromise = api.paymentConfig().catch((error) => {
      configPromise = null; // asked again next time
      console.warn('debug check: no payment config (' + error.message + '); the v3 paySign check is skipped');
      return null;
    });
  }
  return configPromise;
}

// Resolves with the problems ([{field, code, message}]), [] when the params look right.
async function check(params) {
  const appId = wechat.account().appId;
  const config = await paymentConfig();
  const problems = [];
  if (config && config.appid && config.appid !== appId) {
    problems.push({
      field: 'appId',
      code: 'APPID_NOT_THIS_MINI_PROGRAM',
      message: 'the server signs for ' + config.appid + ' but this Mini Program is ' + appId +
        ': WeChat verifies paySign with the running appId, so it would fail',
    });
  }
  // The server's API decides (an MD5 sign on a v3 prepay is itself a mistake to report);
  // without its config, the params' signType.
  const v3 = config ? config.api === 'v3' : params.signType === 'RSA';
  let report;
  if (v3) {
    const sign = require('wxpay-sign/v3');
    await sign.init();
    const options = { appId };
    // The merchant's public key: paySign verifies with it.
    if (config && config.merchant_public_key_pem) options.key = config.merchant_public_key_pem;
    report = sign.checkV3PaymentParams(params, options);
  } else {
    const sign = require('wxpay-sign');
    await sign.init();
    report = sign.checkPaymentParams(params, { appId });
  }
  return problems.concat(report.problems);
}

module.exports = { check };
