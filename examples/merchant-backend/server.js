// A merchant's backend on wxpay, in one file: it prices its own orders, asks wxpay for
// each one (POST /v1/admin/orders), and learns of every money movement from wxpay's
// webhooks, which it verifies with the official `standardwebhooks` library before it
// believes a word. Its "database" is a Map; yours is not.
//
//   WXPAY_URL=http://127.0.0.1:8080 WXPAY_ADMIN_TOKEN=sandbox-admin \
//   WEBHOOK_SECRET=whsec_... PORT=9000 node server.js
//
// and run wxpay with WXPAY_WEBHOOKS__URL=http://127.0.0.1:9000/webhooks/wxpay and the
// same WXPAY_WEBHOOKS__SECRET.
'use strict';
const http = require('node:http');
const crypto = require('node:crypto');
const { Webhook, WebhookVerificationError } = require('standardwebhooks');

// The shop's own orders, by its own reference.
function createShop({ wxpayUrl, adminToken, webhookSecret }) {
  const orders = new Map();
  const seenEvents = new Set();
  const webhook = new Webhook(webhookSecret);

  // Prices the cart here (the shop's prices, coupons...), then has wxpay create the
  // order and its payment. The Idempotency-Key makes a retry of this call safe.
  async function createOrder({ reference, openid, lines }) {
    const amount = lines.reduce((sum, l) => sum + l.unit_price_fen * l.quantity, 0);
    orders.set(reference, { reference, amount_fen: amount, status: 'unpaid', events: [] });
    const response = await fetch(`${wxpayUrl}/v1/admin/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${adminToken}`,
        'content-type': 'application/json',
        'idempotency-key': `order-${reference}`,
      },
      body: JSON.stringify({
        openid,
        amount_fen: amount,
        description: `Example shop - ${reference}`,
        reference,
        items: lines,
      }),
    });
    const body = await response.json();
    if (response.status !== 201 && response.status !== 200) {
      throw new Error(`wxpay refused the order: ${response.status} ${body.code}: ${body.message}`);
    }
    orders.get(reference).order_no = body.order_no;
    // Hand body.payment to the mini program: it passes it to wx.requestPayment.
    return body;
  }

  // One webhook delivery: verified first (signature and timestamp), then applied once
  // per event id (a retry of a delivered event is acknowledged and ignored).
  function receive(rawBody, headers) {
    let event;
    try {
      event = webhook.verify(rawBody, headers);
    } catch (error) {
      if (error instanceof WebhookVerificationError) return { status: 401, body: 'bad signature' };
      throw error;
    }
    if (seenEvents.has(event.id)) return { status: 200, body: 'already seen' };
    seenEvents.add(event.id);
    const order = orders.get(event.data.reference);
    if (order) {
      order.events.push(event.type);
      if (event.type === 'order.paid') {
        order.status = 'paid';
        order.transaction_id = event.data.transaction_id;
      } else if (event.type === 'order.closed' || event.type === 'order.failed') {
        order.status = 'cancelled';
      } else if (event.type === 'refund.succeeded') {
        order.refunded_fen = (order.refunded_fen || 0) + event.data.amount_fen;
      }
    }
    return { status: 204, body: '' };
  }

  return { orders, createOrder, receive };
}

// The HTTP side: POST /webhooks/wxpay.
function listen(shop, port = 0) {
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/webhooks/wxpay') {
      res.writeHead(404).end();
      return;
    }
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      // Verify the bytes as they came: re-serialised JSON would not match the signature.
      const { status, body } = shop.receive(Buffer.concat(chunks).toString('utf8'), req.headers);
      res.writeHead(status).end(body);
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

function newSecret() {
  return `whsec_${crypto.randomBytes(32).toString('base64')}`;
}

module.exports = { createShop, listen, newSecret };

if (require.main === module) {
  const shop = createShop({
    wxpayUrl: process.env.WXPAY_URL || 'http://127.0.0.1:8080',
    adminToken: process.env.WXPAY_ADMIN_TOKEN || 'sandbox-admin',
    webhookSecret: process.env.WEBHOOK_SECRET,
  });
  listen(shop, Number(process.env.PORT || 9000)).then((server) => {
    const { port } = server.address();
    console.log(`merchant backend: webhooks at http://127.0.0.1:${port}/webhooks/wxpay`);
  });
}
