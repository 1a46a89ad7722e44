// Steps shared by the v2 and v3 test files.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { MiniProgram, DIST, httpRequest } = require('./harness.js');

// Launches the app and buys one latte from the catalog; resolves with the pay page.
// `tamper(payment)` changes the params of every order the app receives, on their way, and
// `tamperConfig(config)` the answer of GET /v1/payment-config. `outcomes`: what the user
// does in the payment sheets to come ('ok', 'cancel', 'fail').
async function buyLatte(t, sandbox, { tamper, tamperConfig, outcomes = [], ...options } = {}) {
  if (options.envVersion && options.envVersion !== 'release') {
    // Debug builds run wxpay-sign's mini program entry: fail clearly without it.
    assert.ok(fs.existsSync(DIST), `${DIST} is missing: build it with \`cd wasm-pkg && npm run build\``);
  }
  const mp = new MiniProgram({ sandbox, ...options });
  t.after(() => mp.close());
  mp.payOutcomes.push(...outcomes);
  mp.onResponse = (request, res) => {
    if (tamper && isOrderWithPayment(request) && res.data && res.data.payment) tamper(res.data.payment);
    if (tamperConfig && request.url.endsWith('/v1/payment-config') && res.statusCode === 200) tamperConfig(res.data);
    return res;
  };
  const catalog = mp.launch();
  await mp.waitFor(() => catalog.data.products.length > 0, 'the catalog');
  const latte = catalog.data.products.find((p) => p.sku === 'latte');
  assert.ok(latte, 'the sandbox sells a latte');
  assert.equal(latte.price, '¥28.00');
  mp.tap(catalog, 'buy', { sku: 'latte' });
  const pay = await mp.waitForPage('pages/pay/index', 'the pay page');
  return { mp, pay };
}

// Waits for the result page and returns it.
async function result(mp) {
  return mp.waitFor(() => mp.page.route === 'pages/result/index' && mp.page.data.outcome && mp.page, 'the result page');
}

// The orders the app created or paid again (POST /v1/orders and .../payment answers).
function isOrderWithPayment(entry) {
  return entry.method === 'POST' && /\/v1\/orders(\/[^/?]+\/payment)?$/.test(entry.url);
}

async function assertPaidOnServer(mp, orderNo) {
  const order = await mp.serverOrder(orderNo);
  assert.equal(order.status, 'paid', `the server's word on ${orderNo}`);
  return order;
}

// The merchant ships the order by express, through the sandbox's admin API (as its
// backend would).
async function shipOrder(sandbox, orderNo) {
  const res = await httpRequest('POST', `${sandbox.api}/v1/admin/orders/${orderNo}/shipping`, {
    headers: { authorization: 'Bearer sandbox-admin', 'content-type': 'application/json' },
    body: JSON.stringify({ logistics_type: 'express', parcels: [{ tracking_no: 'YT1234567890', express_company: 'YTO' }] }),
  });
  assert.equal(res.statusCode, 200, res.text);
}

module.exports = { buyLatte, result, isOrderWithPayment, assertPaidOnServer, shipOrder };
