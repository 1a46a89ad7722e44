// The same Mini Program against `wxpay serve --sandbox --api v3`: RSA paySign, and the
// debug build's full paySign check with the merchant certificate from /v1/payment-config.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startSandbox } = require('./sandbox.js');
const { buyLatte, result, assertPaidOnServer, shipOrder } = require('./flow.js');

let sandbox;
before(async () => { sandbox = await startSandbox(['--api', 'v3']); });
after(() => sandbox && sandbox.stop());

test('v3 happy path: RSA params from the server -> wx.requestPayment ok -> paid', async (t) => {
  const { mp } = await buyLatte(t, sandbox);
  const page = await result(mp);
  assert.equal(page.data.outcome, 'paid');
  assert.equal(mp.payments.length, 1);
  assert.equal(mp.payments[0].signType, 'RSA');
  await assertPaidOnServer(mp, page.data.orderNo);
  assert.deepEqual(mp.wasmLoads, []);
});

test('v3 cancel and pay again', async (t) => {
  const { mp } = await buyLatte(t, sandbox, { outcomes: ['cancel', 'ok'] });
  const cancelled = await result(mp);
  assert.equal(cancelled.data.outcome, 'cancel');
  mp.tap(cancelled, 'payAgain');
  await mp.waitFor(() => mp.page !== cancelled && mp.page.route === 'pages/result/index' && mp.page.data.outcome, 'the second result');
  assert.equal(mp.page.data.outcome, 'paid');
  await assertPaidOnServer(mp, cancelled.data.orderNo);
});

test('v3 debug build: a tampered paySign fails the check with the merchant public key; no payment', async (t) => {
  const { mp } = await buyLatte(t, sandbox, {
    envVersion: 'develop',
    // Another valid-looking base64 signature: only the certificate can tell.
    tamper: (payment) => {
      const first = payment.paySign[0] === 'A' ? 'B' : 'A';
      payment.paySign = first + payment.paySign.slice(1);
    },
  });
  const pay = await mp.waitFor(() => mp.page.data.state === 'problems' && mp.page, 'the problems');
  const codes = pay.data.problems.map((p) => p.code);
  assert.equal(codes[0], 'PAYSIGN_MISMATCH', codes.join(', '));
  assert.equal(mp.payments.length, 0, 'wx.requestPayment was not called');
  assert.deepEqual(mp.wasmLoads, ['/miniprogram_npm/wxpay-sign/wxpay_sign_v3.wasm.br']);
  const config = mp.requests.find((r) => r.url.endsWith('/v1/payment-config'));
  assert.equal(config && config.statusCode, 200, 'GET /v1/payment-config');
});

test('v3 debug build: a v2 signType on a v3 prepay is explained', async (t) => {
  const { mp } = await buyLatte(t, sandbox, {
    envVersion: 'develop',
    tamper: (payment) => { payment.signType = 'MD5'; },
  });
  const pay = await mp.waitFor(() => mp.page.data.state === 'problems' && mp.page, 'the problems');
  assert.ok(pay.data.problems.some((p) => p.code === 'SIGN_TYPE_NOT_RSA'), JSON.stringify(pay.data.problems));
  assert.equal(mp.payments.length, 0);
});

test('v3 debug build: correct params pass the full check and pay', async (t) => {
  const { mp } = await buyLatte(t, sandbox, { envVersion: 'develop' });
  const page = await result(mp);
  assert.equal(page.data.outcome, 'paid');
  assert.equal(mp.payments.length, 1);
  await assertPaidOnServer(mp, page.data.orderNo);
});

// The merchant ships (the admin API, as its backend would), the payer confirms receipt
// in WeChat's component, and the server, told by WeChat, has the order settled.
test('v3 shipping: on its way after the upload, confirm receipt -> settled', async (t) => {
  const { mp } = await buyLatte(t, sandbox);
  const page = await result(mp);
  assert.equal(page.data.outcome, 'paid');
  await mp.waitFor(() => page.data.shippingStatus === 'pending', 'pending shipping');
  assert.match(page.data.shippingHint, /preparing/);
  assert.equal(page.data.canConfirmReceipt, false);

  await shipOrder(sandbox, page.data.orderNo);
  page.onShow();
  await mp.waitFor(() => page.data.canConfirmReceipt, 'the confirm receipt button');
  assert.match(page.data.shippingHint, /on their way/);

  // Cancelled in the component: nothing changes.
  mp.receiptOutcomes.push('cancel');
  await mp.tap(page, 'confirmReceipt');
  assert.equal((await mp.serverOrder(page.data.orderNo)).shipping_status, 'uploaded');

  await mp.tap(page, 'confirmReceipt');
  await mp.waitFor(() => page.data.shippingStatus === 'settled', 'settled on the page');
  const order = await mp.serverOrder(page.data.orderNo);
  assert.equal(order.shipping_status, 'settled');
  assert.equal(page.data.canConfirmReceipt, false);
  assert.deepEqual(mp.businessViews.map((v) => v.businessType), ['weappOrderConfirm', 'weappOrderConfirm']);
  // The app's own realm: compared as JSON.
  assert.equal(JSON.stringify(mp.businessViews[1].extraData), JSON.stringify({ transaction_id: order.transaction_id }));
});
