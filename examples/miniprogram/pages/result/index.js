// The outcome, as the server sees it: paid, still being confirmed, cancelled by the user,
// or failed. Cancel and failure both offer "pay again" (fresh params for the same order).
// A paid order then shows its shipping (WeChat's order-shipping service): being prepared,
// on its way (with "confirm receipt", WeChat's own component), or received.
const api = require('../../utils/api.js');
const config = require('../../config.js');
const wechat = require('../../utils/wechat.js');

const TEXT = {
  paid: { title: '支付成功 Paid', hint: '服务器已确认收款 The server has the payment.' },
  pending: { title: '确认中 Confirming', hint: '微信尚未通知服务器 WeChat has not told the server yet.' },
  cancel: { title: '已取消 Cancelled', hint: '你取消了支付，订单仍可支付 You cancelled; the order can still be paid.' },
  fail: { title: '支付失败 Payment failed', hint: '微信未能完成支付 WeChat could not complete the payment.' },
};

// The order's shipping_status, as the payer should read it ('' for not_required).
const SHIPPING = {
  pending: '商家正在准备发货 The merchant is preparing your goods.',
  uploaded: '已发货，正在路上 Your goods are on their way.',
  confirmed: '已确认收货 Receipt confirmed.',
  settled: '已确认收货 Receipt confirmed.',
};

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function decode(text) {
  try {
    return decodeURIComponent(text || '');
  } catch (error) {
    return text;
  }
}

Page({
  data: {
    outcome: '', orderNo: '', reason: '', title: '', hint: '', canPayAgain: false,
    shippingStatus: '', shippingHint: '', canConfirmReceipt: false,
  },

  onLoad(query) {
    this.show(query.outcome, query.order_no, decode(query.reason));
  },

  // Back on the page (from another app, or WeChat's components): the shipping may have moved.
  onShow() {
    if (this.data.outcome === 'paid') return this.loadShipping();
    return undefined;
  },

  // The server's word on the shipping; resolves with the order (undefined on failure).
  loadShipping() {
    return api.order(this.data.orderNo).then(
      (order) => {
        this.transactionId = order.transaction_id;
        const status = order.shipping_status || 'not_required';
        this.setData({
          shippingStatus: status,
          shippingHint: SHIPPING[status] || '',
          canConfirmReceipt: status === 'uploaded' && Boolean(order.transaction_id),
        });
        return order;
      },
      () => undefined,
    );
  },

  // WeChat's "confirm receipt" component; then the server is asked until WeChat has told
  // it (its push), since the component's "success" is only the phone's word.
  confirmReceipt() {
    if (!this.transactionId) return Promise.resolve();
    return wechat.confirmReceipt(this.transactionId).then(async (answer) => {
      if (answer.status === 'cancel') return;
      if (answer.status !== 'success') {
        wx.showToast({ title: '确认收货失败 ' + (answer.errormsg || ''), icon: 'none' });
        return;
      }
      for (let i = 0; i < config.statusPoll.attempts; i += 1) {
        if (i > 0) await sleep(config.statusPoll.intervalMs);
        const order = await this.loadShipping();
        if (order && (order.shipping_status === 'confirmed' || order.shipping_status === 'settled')) return;
      }
      wx.showToast({ title: '微信尚未确认 WeChat has not confirmed it yet', icon: 'none' });
    });
  },

  show(outcome, orderNo, reason) {
    const text = TEXT[outcome] || TEXT.fail;
    this.setData({
      outcome,
      orderNo,
      // WeChat's own words only where they add something: the failure's reason.
      reason: outcome === 'fail' ? reason : '',
      title: text.title,
      hint: text.hint,
      canPayAgain: outcome === 'cancel' || outcome === 'fail',
    });
    if (outcome === 'paid') this.loadShipping();
  },

  payAgain() {
    wx.redirectTo({ url: '/pages/pay/index?order_no=' + this.data.orderNo });
  },

  // "Confirming": ask the server again.
  checkAgain() {
    return api.order(this.data.orderNo).then(
      (order) => {
        if (order.status === 'paid') this.show('paid', this.data.orderNo, '');
        else wx.showToast({ title: '仍在确认 Not yet', icon: 'none' });
      },
      (error) => wx.showToast({ title: error.message, icon: 'none' }),
    );
  },

  backToCatalog() {
    wx.reLaunch({ url: '/pages/catalog/index' });
  },
});
