// The catalog: the server's products and prices (the client never prices anything).
const api = require('../../utils/api.js');
const { yuan } = require('../../utils/format.js');

Page({
  data: { products: [], loading: true, error: '' },

  onLoad() {
    this.load();
  },

  onPullDownRefresh() {
    this.load().then(() => wx.stopPullDownRefresh());
  },

  load() {
    this.setData({ loading: true, error: '' });
    return api.products().then(
      (body) => this.setData({
        loading: false,
        products: body.products.map((p) => ({ sku: p.sku, name: p.name, price: yuan(p.price_fen) })),
      }),
      (error) => this.setData({ loading: false, error: error.message }),
    );
  },

  buy(event) {
    // SKUs are URL-safe tokens: passed as they are (onLoad gets the query undecoded).
    const sku = event.currentTarget.dataset.sku;
    wx.navigateTo({ url: '/pages/pay/index?sku=' + sku + '&quantity=1' });
  },
});
