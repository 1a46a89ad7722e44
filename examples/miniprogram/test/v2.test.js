// The Mini Program against a real `wxpay serve --sandbox` on API v2 (one sandbox for the file).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startSandbox } = require('./sandbox.js');
const { buyLatte, result, isOrderWithPayment, assertPaidOnServer, shipOrder } = require('./flow.js');

let sandbox;
before(async () => { sandbox = await startSandbox(); });
after(() => sandbox && sandbox.stop());

test('happy path: catalog -> buy -> wx.requestPayment ok -> paid, as the server says', async (t) => {
  const { mp } = await buyLatte(t, sandbox);
  const page = await result(mp);
  assert.equal(page.data.outcome, 'paid');
  assert.equal(mp.payments.length, 1);
  assert.ok(['MD5', 'HMAC-SHA256'].includes(mp.payments[0].signType), mp.payments[0].signType);
  const order = await assertPaidOnServer(mp, page.data.orderNo);
  assert.equal(order.amount_fen, 2800);
  // The app asked the server after WeChat's ok, and a release build never loads the checker.
  assert.ok(mp.requests.some((r) => r.method === 'GET' && r.url.endsWith(`/v1/orders/${page.data.orderNo}`)));
  assert.equal(mp.loaded('utils/debug-check.js'), false);
  assert.deepEqual(mp.wasmLoads, []);
  // The token is kept for the next launch; nothing else about the user is.
  assert.deepEqual([...mp.storage.keys()], ['token']);
});

test('cancel: the cancel page, distinct from a failure, and the order is still open', async (t) => {
  const { mp } = await buyLatte(t, sandbox, { outcomes: ['cancel'] });
  const page = await result(mp);
  assert.equal(page.data.outcome, 'cancel');
  assert.equal(page.data.reason, '', 'a cancel is no failure to explain');
  assert.equal(page.data.canPayAgain, true);
  assert.match(page.wxml, /bindtap="payAgain"/);
  const order = await mp.serverOrder(page.data.orderNo);
  assert.equal(order.status, 'awaiting_payment');
});

test('failure -> failure page -> pay again (fresh params) -> paid', async (t) => {
  const { mp } = await buyLatte(t, sandbox, { outcomes: ['fail', 'ok'] });
  const failed = await result(mp);
  assert.equal(failed.data.outcome, 'fail');
  assert.match(failed.data.reason, /^requestPayment:fail /);
  assert.notEqual(failed.data.reason, 'requestPayment:fail cancel');
  const orderNo = failed.data.orderNo;

  mp.tap(failed, 'payAgain');
  await mp.waitFor(() => mp.page !== failed && mp.page.route === 'pages/result/index' && mp.page.data.outcome, 'the second result');
  assert.equal(mp.page.data.outcome, 'paid');
  assert.equal(mp.page.data.orderNo, orderNo, 'the same order, paid');
  assert.equal(mp.payments.length, 2);
  // The second payment used the fresh params of POST /v1/orders/{no}/payment.
  assert.ok(mp.requests.some((r) => r.method === 'POST' && r.url.endsWith(`/v1/orders/${orderNo}/payment`)));
  assert.notEqual(mp.payments[1].nonceStr, mp.payments[0].nonceStr);
  await assertPaidOnServer(mp, orderNo);
});

test('debug build: a millisecond timeStamp is explained and wx.requestPayment is not called', async (t) => {
  const { mp } = await buyLatte(t, sandbox, {
    envVersion: 'develop',
    tamper: (payment) => { payment.timeStamp = `${payment.timeStamp}000`; },
  });
  const pay = await mp.waitFor(() => mp.page.data.state === 'problems' && mp.page, 'the problems');
  const codes = pay.data.problems.map((p) => p.code);
  assert.ok(codes.includes('TIMESTAMP_MILLISECONDS'), codes.join(', '));
  assert.ok(pay.data.problems.every((p) => p.message.length > 0));
  assert.equal(mp.payments.length, 0, 'wx.requestPayment was not called');
  assert.equal(mp.page.route, 'pages/pay/index');
  // The v2 checker ran from the wasm, loaded through WXWebAssembly; no key was involved.
  assert.deepEqual(mp.wasmLoads, ['/miniprogram_npm/wxpay-sign/wxpay_sign.wasm.br']);
});

test('debug build: a lower-case paySign is explained too', async (t) => {
  const { mp } = await buyLatte(t, sandbox, {
    envVersion: 'trial',
    tamper: (payment) => { payment.paySign = payment.paySign.toLowerCase(); },
  });
  const pay = await mp.waitFor(() => mp.page.data.state === 'problems' && mp.page, 'the problems');
  assert.ok(pay.data.problems.some((p) => p.code === 'PAYSIGN_LOWERCASE'), JSON.stringify(pay.data.problems));
  assert.equal(mp.payments.length, 0);
});

test('debug build: correct params pass the check and pay normally', async (t) => {
  const { mp } = await buyLatte(t, sandbox, { envVersion: 'develop' });
  const page = await result(mp);
  assert.equal(page.data.outcome, 'paid');
  assert.equal(mp.payments.length, 1);
  assert.equal(mp.loaded('utils/debug-check.js'), true);
  assert.deepEqual(mp.wasmLoads, ['/miniprogram_npm/wxpay-sign/wxpay_sign.wasm.br']);
  await assertPaidOnServer(mp, page.data.orderNo);
});

test('debug build: pay again checks the fresh params too, with the wasm loaded once', async (t) => {
  const { mp } = await buyLatte(t, sandbox, { envVersion: 'develop', outcomes: ['cancel', 'ok'] });
  const cancelled = await result(mp);
  assert.equal(cancelled.data.outcome, 'cancel');
  mp.tap(cancelled, 'payAgain');
  await mp.waitFor(() => mp.page !== cancelled && mp.page.route === 'pages/result/index' && mp.page.data.outcome, 'the second result');
  assert.equal(mp.page.data.outcome, 'paid');
  assert.equal(mp.payments.length, 2);
  assert.deepEqual(mp.wasmLoads, ['/miniprogram_npm/wxpay-sign/wxpay_sign.wasm.br']);
  await assertPaidOnServer(mp, cancelled.data.orderNo);
});

test('debug build: /v1/payment-config answers, and an appid other than the running one is reported', async (t) => {
  const { mp } = await buyLatte(t, sandbox, { envVersion: 'develop' });
  await result(mp);
  const asked = mp.requests.find((r) => r.url.endsWith('/v1/payment-config'));
  assert.equal(asked && asked.statusCode, 200, 'GET /v1/payment-config');
  assert.equal(mp.payments.length, 1);

  // A server configured for another Mini Program: WeChat would refuse its paySign.
  const { mp: other } = await buyLatte(t, sandbox, {
    envVersion: 'develop',
    tamperConfig: (config) => { config.appid = 'wx0123456789abcdef'; },
  });
  const pay = await other.waitFor(() => other.page.data.state === 'problems' && other.page, 'the problems');
  assert.deepEqual(pay.data.problems.map((p) => p.code), ['APPID_NOT_THIS_MINI_PROGRAM']);
  assert.equal(other.payments.length, 0);
});

test('DevTools against the sandbox: the simulator plays wx.login, wx.requestPayment and the payer confirming receipt', async (t) => {
  const { mp } = await buyLatte(t, sandbox, { envVersion: 'develop', config: { simulatorUrl: sandbox.sim } });
  const page = await result(mp);
  assert.equal(page.data.outcome, 'paid');
  assert.equal(mp.logins, 0, 'no real wx.login');
  assert.equal(mp.payments.length, 0, 'no real wx.requestPayment');
  assert.ok(mp.requests.some((r) => r.url === `${sandbox.sim}/sim/pay`));
  await assertPaidOnServer(mp, page.data.orderNo);

  await shipOrder(sandbox, page.data.orderNo);
  page.onShow();
  await mp.waitFor(() => page.data.canConfirmReceipt, 'the confirm receipt button');
  await mp.tap(page, 'confirmReceipt');
  await mp.waitFor(() => page.data.shippingStatus === 'settled', 'settled on the page');
  assert.equal(mp.businessViews.length, 0, 'no real wx.openBusinessView');
  assert.ok(mp.requests.some((r) => r.url === `${sandbox.sim}/sim/shipping/confirm`));
  assert.equal((await mp.serverOrder(page.data.orderNo)).shipping_status, 'settled');
});

test('a release build ignores simulatorUrl: real WeChat only', async (t) => {
  const { mp } = await buyLatte(t, sandbox, { envVersion: 'release', config: { simulatorUrl: sandbox.sim } });
  const page = await result(mp);
  assert.equal(page.data.outcome, 'paid');
  assert.equal(mp.logins, 1);
  assert.equal(mp.payments.length, 1);
  assert.ok(!mp.requests.some((r) => r.url.startsWith(sandbox.sim)));
});
