// Pays one order: a new one (?sku=&quantity=) or an open one again (?order_no=, fresh
// params from POST /v1/orders/{no}/payment). The result page shows what the SERVER says:
// wx.requestPayment's success is only the phone's word, WeChat's notify to the server is
// what pays an order.
const api = require('../../utils/api.js');
const wechat = require('../../utils/wechat.js');
const config = require('../../config.js');
const { yuan } = require('../../utils/format.js');

const CANCEL = 'requestPayment:fail cancel';

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// The order's status after wx.requestPayment answered: 'paid', or why not.
async function settle(orderNo, errMsg) {
  // After an ok the notify may still be on its way: ask a few times. After a cancel or a
  // failure ask once anyway (a payment can go through while the phone's answer is lost).
  const attempts = errMsg === 'requestPayment:ok' ? config.statusPoll.attempts : 1;
  for (let i = 0; i < attempts; i += 1) {
    if (i > 0) await sleep(config.statusPoll.intervalMs);
    try {
      const order = await api.order(orderNo);
      if (order.status === 'paid') return 'paid';
    } catch (error) {
      console.warn('order status: ' + error.message);
    }
  }
  if (errMsg === 'requestPayment:ok') return 'pending';
  return errMsg === CANCEL ? 'cancel' : 'fail';
}

Page({
  data: { state: 'working', orderNo: '', amount: '', problems: [], error: '' },

  onLoad(query) {
    this.start(query);
  },

  async start(query) {
    try {
      const order = query.order_no
        ? await api.payAgain(query.order_no)
        : await api.createOrder([{ sku: query.sku, quantity: Number(query.quantity || 1) }]);
      this.order = order;
      this.setData({ orderNo: order.order_no, amount: yuan(order.amount_fen) });
      if (!wechat.isRelease()) {
        // Required here, not at the top: release builds never load the checker.
        const problems = await require('../../utils/debug-check.js').check(order.payment);
        if (problems.length > 0) {
          this.setData({ state: 'problems', problems });
          return;
        }
      }
      await this.pay();
    } catch (error) {
      this.setData({ state: 'error', error: error.message });
    }
  },

  // The debug check can be wrong (e.g. a phone clock far off): the developer decides.
  payAnyway() {
    this.pay().catch((error) => this.setData({ state: 'error', error: error.message }));
  },

  async pay() {
    this.setData({ state: 'paying' });
    const errMsg = await wechat.requestPayment(this.order.payment);
    this.setData({ state: 'confirming' });
    const outcome = await settle(this.order.order_no, errMsg);
    wx.redirectTo({
      url: '/pages/result/index?order_no=' + this.order.order_no + '&outcome=' + outcome +
        '&reason=' + encodeURIComponent(errMsg),
    });
  },
});
