// The example against a real `wxpay serve --sandbox`: the shop creates an order it
// priced, the payer pays it in the simulator, and the shop learns it was paid from a
// webhook it verified with the official standardwebhooks library; a forged delivery
// changes nothing.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { createShop, listen, newSecret } = require('../server.js');
const { startSandbox } = require('../../miniprogram/test/sandbox.js');

// The shop's cart, priced by the shop: 2 x 39.00 + 12.00.
const CART = [
  { sku: 'mug', name: 'Mug', unit_price_fen: 3900, quantity: 2 },
  { sku: 'tea', name: 'Tea', unit_price_fen: 1200, quantity: 1 },
];

async function waitFor(check, what, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('a merchant order paid in the sandbox reaches the shop as a verified webhook', async (t) => {
  const secret = newSecret();
  // The shop listens first, so wxpay knows where to deliver.
  let shop;
  const server = await listen({ receive: (...args) => shop.receive(...args) });
  t.after(() => server.close());
  const hooks = `http://127.0.0.1:${server.address().port}/webhooks/wxpay`;
  process.env.WXPAY_WEBHOOKS__URL = hooks;
  process.env.WXPAY_WEBHOOKS__SECRET = secret;
  const sandbox = await startSandbox();
  delete process.env.WXPAY_WEBHOOKS__URL;
  delete process.env.WXPAY_WEBHOOKS__SECRET;
  t.after(() => sandbox.stop());
  shop = createShop({ wxpayUrl: sandbox.api, adminToken: 'sandbox-admin', webhookSecret: secret });

  const openid = 'o-example-shop-1';
  const order = await shop.createOrder({
    reference: 'EX-1001',
    openid,
    lines: CART,
  });
  assert.equal(order.amount_fen, 9000);
  assert.equal(order.reference, 'EX-1001');
  // A retry of the same call is the same order.
  const again = await shop.createOrder({
    reference: 'EX-1001',
    openid,
    lines: CART,
  });
  assert.equal(again.order_no, order.order_no);

  // A forged delivery: refused, nothing changes.
  const forged = await fetch(hooks, {
    method: 'POST',
    headers: { 'webhook-id': 'evt_forged', 'webhook-timestamp': `${Math.floor(Date.now() / 1000)}`, 'webhook-signature': 'v1,AAAA' },
    body: JSON.stringify({ id: 'evt_forged', type: 'order.paid', data: { reference: 'EX-1001' } }),
  });
  assert.equal(forged.status, 401);
  assert.equal(shop.orders.get('EX-1001').status, 'unpaid');

  // The payer pays in wx.requestPayment (the simulator plays WeChat).
  const pay = await fetch(`${sandbox.sim}/sim/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...order.payment, appid: 'wxd930ea5d5a258f4f', openid }),
  });
  assert.equal((await pay.json()).errMsg, 'requestPayment:ok');

  await waitFor(() => shop.orders.get('EX-1001').status === 'paid', 'the order.paid webhook');
  const paid = shop.orders.get('EX-1001');
  assert.deepEqual(paid.events, ['order.paid']);
  assert.ok(paid.transaction_id.length > 10, paid.transaction_id);
});
