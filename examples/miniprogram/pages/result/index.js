// The outcome, as the server sees it: paid, still being confirmed, cancelled by the user,
// or failed. Cancel and failure both offer "pay again" (fresh params for the same order).
const api = require('../../utils/api.js');

const TEXT = {
  paid: { title: '支付成功 Paid', hint: '服务器已确认收款 The server has the payment.' },
  pending: { title: '确认中 Confirming', hint: '微信尚未通知服务器 WeChat has not told the server yet.' },
  cancel: { title: '已取消 Cancelled', hint: '你取消了支付，订单仍可支付 You cancelled; the order can still be paid.' },
  fail: { title: '支付失败 Payment failed', hint: '微信未能完成支付 WeChat could not complete the payment.' },
};

function decode(text) {
  try {
    return decodeURIComponent(text || '');
  } catch (error) {
    return text;
  }
}

Page({
  data: { outcome: '', orderNo: '', reason: '', title: '', hint: '', canPayAgain: false },

  onLoad(query) {
    this.show(query.outcome, query.order_no, decode(query.reason));
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
